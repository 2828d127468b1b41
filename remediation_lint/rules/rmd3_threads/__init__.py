"""RMD3xx: threads and shared state."""
