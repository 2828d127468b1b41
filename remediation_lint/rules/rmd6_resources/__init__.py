"""RMD6xx: resources and sockets."""
