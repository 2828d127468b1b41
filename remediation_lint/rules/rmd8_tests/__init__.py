"""RMD8xx: tests."""
