"""RMD1xx: security."""
