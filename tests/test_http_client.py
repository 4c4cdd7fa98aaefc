"""The API driver's HTTP/1.1 pool against a raw loopback server: every body framing, keep-alive reuse, the
connection bound, timeouts and a server that dies."""

from __future__ import annotations

import asyncio

import pytest

from loadgen.drive.http_client import HttpError, HttpPool

RESPONSES = {
    b"/length": b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    b"/chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"4\r\nwiki\r\n6;ext=1\r\npedia \r\n0\r\n\r\n"),
    b"/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    b"/throttled": b'HTTP/1.1 429 Too Many Requests\r\nContent-Length: 31\r\n\r\n{"message":"Too Many Requests"}',
}


class Server:
    """Answers each request from RESPONSES by its path (in pieces, to exercise partial reads); counts
    connections and keeps the largest number open at once."""

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s
        self.connections = self.open = self.most_open = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length")), 0)
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                path = head.split(b" ")[1]
                await asyncio.sleep(self.delay_s)
                answer = RESPONSES[path]
                for i in range(0, len(answer), 7):
                    writer.write(answer[i:i + 7])
                    await writer.drain()
                if path == b"/close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()


def test_every_body_framing_is_read_and_connections_are_reused():
    async def run():
        server = Server()
        async with server as url:
            pool = HttpPool(url, 4, {"x-api-key": "k"}, 5.0)
            results = [await pool.request("POST", "/length", b'{"a":1}'), await pool.request("GET", "/chunked"),
                       await pool.request("GET", "/throttled"), await pool.request("GET", "/length"),
                       await pool.request("GET", "/close"), await pool.request("GET", "/length")]
            await pool.close()
        return server, url, results

    server, url, results = asyncio.run(run())
    assert results == [(201, b"hello"), (200, b"wikipedia "), (429, b'{"message":"Too Many Requests"}'),
                       (201, b"hello"), (200, b"until the end"), (201, b"hello")]
    assert server.connections == 2  # one kept alive through five requests, a new one after `Connection: close`
    first = server.requests[0]
    assert first.startswith(b"POST /length HTTP/1.1\r\n")
    assert f"Host: {url.split('//')[1]}\r\n".encode() in first and b"x-api-key: k\r\n" in first
    assert first.endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


def test_at_most_size_connections_and_every_request_answered():
    async def run():
        server = Server(delay_s=0.01)
        async with server as url:
            pool = HttpPool(url, 3, {}, 5.0)
            results = await asyncio.gather(*(pool.request("GET", "/length") for _ in range(30)))
            await pool.close()
        return server, results

    server, results = asyncio.run(run())
    assert results == [(201, b"hello")] * 30
    assert server.most_open == server.connections == 3


def test_a_slow_answer_times_out_and_its_connection_is_not_reused():
    async def run():
        server = Server(delay_s=0.5)
        async with server as url:
            pool = HttpPool(url, 1, {}, 0.05)
            with pytest.raises(TimeoutError):
                await pool.request("GET", "/length")
            server.delay_s = 0.0
            answer = await pool.request("GET", "/length")
            await pool.close()
        return server, answer

    server, answer = asyncio.run(run())
    assert answer == (201, b"hello") and server.connections == 2


def test_a_server_that_goes_away_fails_the_request_and_frees_its_slot():
    async def run():
        async def hang_up(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        pool = HttpPool(url, 1, {}, 5.0)
        with pytest.raises(HttpError):
            await pool.request("GET", "/x")
        server.close()
        await server.wait_closed()
        with pytest.raises(OSError):  # refused: nothing listens any more, and the slot was given back
            await pool.request("GET", "/x")
        return pool.open

    assert asyncio.run(run()) == 0
