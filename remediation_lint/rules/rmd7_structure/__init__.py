"""RMD7xx: configuration and structure."""
