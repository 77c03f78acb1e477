"""Servers the embedded default runs on this machine."""

from stonks.embedded.redis_server import RedisServer, RedisServerStatus, find_redis_server_binary

__all__ = ["RedisServer", "RedisServerStatus", "find_redis_server_binary"]
