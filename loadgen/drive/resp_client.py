"""A lean asyncio Redis client for measuring: pre-encoded RESP commands in, hiredis-parsed replies out.

redis-py's asyncio client spends most of a cheap GEO query's time in Python (connection pool, command
packing, response callbacks), which caps one core at about half of what redis-benchmark reaches at the same
concurrency. Measurement needs the client to vanish: each connection here is an asyncio.Protocol with a FIFO of
waiting futures, commands are encoded once up front, and replies are parsed by hiredis' C reader. Loading data
and anything non-measuring still goes through redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any
from urllib.parse import urlparse

import hiredis


def encode(*args: Any) -> bytes:
    """One command in RESP (an array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RespError(Exception):
    """The server answered with an error reply."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future] = deque()
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            future = self.waiting.popleft()
            if not future.done():
                if isinstance(reply, hiredis.ReplyError):
                    future.set_exception(RespError(str(reply)))
                else:
                    future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError("connection to Redis lost"))
        if not self.closed.done():
            self.closed.set_result(None)

    def call(self, payload: bytes) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.write(payload)  # type: ignore[union-attr]
        return future


class RespPool:
    """N connections, each carrying one outstanding command at a time (the concurrency redis-benchmark -c means)."""

    def __init__(self, connections: list[_Connection]):
        self.connections = connections
        self.idle: list[_Connection] = list(connections)
        self.waiters: deque[asyncio.Future] = deque()

    @classmethod
    async def connect(cls, url: str, size: int) -> "RespPool":
        parsed = urlparse(url)
        loop = asyncio.get_running_loop()
        connections = []
        for _ in range(size):
            _, protocol = await loop.create_connection(_Connection, parsed.hostname or "127.0.0.1", parsed.port or 6379)
            connections.append(protocol)
        pool = cls(connections)
        database = (parsed.path or "/0").lstrip("/") or "0"
        for connection in connections:
            if parsed.password:
                await connection.call(encode("AUTH", parsed.password))
            if database != "0":
                await connection.call(encode("SELECT", database))
        return pool

    async def call(self, payload: bytes) -> Any:
        """Send a pre-encoded command on an idle connection (waiting for one if all are busy)."""
        if self.idle:
            connection = self.idle.pop()
        else:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            connection = await waiter
        try:
            return await connection.call(payload)
        finally:
            self._release(connection)

    def _release(self, connection: _Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self.idle.append(connection)

    async def close(self) -> None:
        for connection in self.connections:
            if connection.transport:
                connection.transport.close()
        await asyncio.gather(*(c.closed for c in self.connections), return_exceptions=True)
