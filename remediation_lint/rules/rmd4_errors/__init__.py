"""RMD4xx: error handling."""
