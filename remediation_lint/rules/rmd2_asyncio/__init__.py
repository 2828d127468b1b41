"""RMD2xx: asyncio."""
