"""Keep-alive HTTP/1.1 to one origin for the API driver: a request is bytes out, (status, body) back, without a
client library's per-request machinery.

Where it sits: under drive.api_pusher (one pool per run, shared by every route of the stack). The request line
and the fixed headers (Host, content type, x-api-key) are joined once per request from prebuilt text; a
response is parsed once (status line, headers, a Content-Length or chunked body, or a body ending with the
connection). At most `size` connections are open; a request waiting for one waits inside its own latency (open
loop: the wait is the client's, and it is measured). TLS through the standard ssl module, so a stage's https
invoke URL on AWS works as the emulator's http one does. Every request is bounded by `timeout_s`; a connection
that timed out, was cancelled mid-request or answered `Connection: close` is closed, never reused.

Measured reason (README, "Measuring honestly"): with aiohttp the driver spent most of its core in the client
(`loadgen bench api-ceiling` compares both, and Locust's FastHttpUser, on the same core and server).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import urlsplit

from loadgen.errors import LoadgenError


class HttpError(ConnectionError):
    """The connection failed or closed before a whole response came back."""


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its response parsed as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False
        self.head: tuple[int, dict[str, str], int] | None = None
        """(status, headers, offset of the body) once the response's head is in."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes) -> asyncio.Future:
        self.waiter = asyncio.get_running_loop().create_future()
        self.head = None
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            self._parse(final=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if not self._parse(final=True):
                self.waiter.set_exception(HttpError(f"connection closed before the response ended ({exc or 'EOF'})"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _parse(self, final: bool) -> bool:
        """Resolve the waiter with (status, body, keep_alive) when the whole response is in; True if it was."""
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            try:
                status = int(lines[0].split(" ", 2)[1])
            except (IndexError, ValueError):
                self.waiter.set_exception(HttpError(f"not an HTTP response: {lines[0][:80]!r}"))
                self.close()
                return True
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.head = (status, headers, end + 4)
        status, headers, start = self.head
        keep_alive = headers.get("connection", "").lower() != "close"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, used = _dechunk(self.buffer, start)
            if body is None:
                return False
        elif "content-length" in headers:
            used = start + int(headers["content-length"])
            if len(self.buffer) < used:
                return False
            body = bytes(self.buffer[start:used])
        elif status in (204, 304) or 100 <= status < 200:
            body, used = b"", start
        elif final:  # the body is whatever came before the close
            body, used, keep_alive = bytes(self.buffer[start:]), len(self.buffer), False
        else:
            return False
        del self.buffer[:used]
        self.head = None
        self.waiter.set_result((status, body, keep_alive))
        return True


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes | None, int]:
    """A chunked body from `start`: (body, offset after it), or (None, 0) while it is incomplete."""
    parts, at = [], start
    while True:
        eol = buffer.find(b"\r\n", at)
        if eol < 0:
            return None, 0
        size = int(bytes(buffer[at:eol]).split(b";", 1)[0], 16)
        if size == 0:
            end = buffer.find(b"\r\n\r\n", eol)  # no trailers are sent to us; skip any
            return (b"".join(parts), end + 4) if end >= 0 else (None, 0)
        if len(buffer) < eol + 2 + size + 2:
            return None, 0
        parts.append(bytes(buffer[eol + 2:eol + 2 + size]))
        at = eol + 2 + size + 2


class HttpPool:
    """Up to `size` keep-alive connections to the origin of `base_url`, sending `headers` with every request."""

    def __init__(self, base_url: str, size: int, headers: dict[str, str], timeout_s: float):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadgenError(f"not an http(s) URL: {base_url}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        host_header = parts.netloc.rpartition("@")[2]
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host_header, **headers}.items())
        self.size, self.timeout_s = size, timeout_s
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiting: deque[asyncio.Future] = deque()

    def request_bytes(self, method: str, target: str, body: bytes, extra_headers: str = "") -> bytes:
        return (f"{method} {target} HTTP/1.1\r\n{self.fixed}{extra_headers}Content-Length: {len(body)}\r\n\r\n"
                .encode("latin-1") + body)

    async def request(self, method: str, target: str, body: bytes = b"", extra_headers: str = "") -> tuple[int, bytes]:
        """(status, body) of one request to `target` (path and query on this origin); `extra_headers` are
        header lines ("name: value\r\n" each) for this request only, e.g. a route's own API key."""
        connection = await self._acquire()
        loop = asyncio.get_running_loop()
        timer = None
        try:
            waiter = connection.send(self.request_bytes(method, target, body, extra_headers))
            timer = loop.call_later(self.timeout_s, _expire, waiter, self.timeout_s)
            status, data, keep_alive = await waiter
        except BaseException:
            connection.close()
            self._release(None)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if keep_alive and not connection.closed:
            self._release(connection)
        else:
            connection.close()
            self._release(None)
        return status, data

    async def close(self) -> None:
        for connection in self.idle:
            connection.close()
        self.idle.clear()

    async def _acquire(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
            self.open -= 1
        if self.open < self.size:
            self.open += 1
            return await self._connect()
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        try:
            connection = await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # handed over just before the cancellation: give it on
                self._release(future.result())
            raise
        return connection if connection is not None else await self._connect()

    async def _connect(self) -> _Connection:
        """A new connection for a slot already counted in `open` (given back if connecting fails)."""
        try:
            _, connection = await asyncio.wait_for(asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port, ssl=self.ssl,
                server_hostname=self.host if self.ssl else None), self.timeout_s)
        except BaseException:
            self._release(None)
            raise
        return connection

    def _release(self, connection: _Connection | None) -> None:
        """Hand a connection (or, with None, its slot) to the longest waiter, else keep it idle."""
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(connection)
                return
        if connection is None:
            self.open -= 1
        else:
            self.idle.append(connection)


def _expire(waiter: asyncio.Future, timeout_s: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no response within {timeout_s:g} s"))
