"""An instant HTTP/1.1 server for `loadgen bench harness`: answers every request at once with 200 `{}`, so a
client measured against it measures itself (the API half of the harness bench, when nginx is not on PATH).

Where it sits: beside target.kinesis_sink, in its own process pinned to the core the measured client does not
use. Keep-alive, pipelining and request bodies (Content-Length) are handled; nothing is logged or kept.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class _Answerer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport, self.buffer, self.body_left = transport, bytearray(), 0

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers = 0
        while True:
            if self.body_left:
                taken = min(self.body_left, len(self.buffer))
                del self.buffer[:taken]
                self.body_left -= taken
                if self.body_left:
                    break
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[:end + 4]
            at = head.find(b"content-length:")
            self.body_left = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            answers += 1
        if answers:
            self.transport.write(ANSWER * answers)


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Answerer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def start_http_sink(port: int, cpu: int | None) -> tuple[str, subprocess.Popen]:
    """The sink in its own process (pinned to `cpu` when given); returns its URL once it answers."""
    process = subprocess.Popen([sys.executable, "-m", "loadgen.target.http_sink", str(port),
                                "" if cpu is None else str(cpu)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=1) as response:
                response.read()
            return url, process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the HTTP sink did not answer on {url}")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 and args[1]:
        os.sched_setaffinity(0, {int(args[1])})
    import uvloop

    uvloop.run(_serve(int(args[0])))


if __name__ == "__main__":
    main()
