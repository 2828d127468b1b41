"""RMD5xx: data integrity and databases."""
