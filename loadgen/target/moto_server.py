"""The moto server the local target runs: moto's own app, served one request at a time.

moto's stock server is threaded, but its backends are not thread-safe: Kinesis shards number records with
`max(sequence number) + 1` (moto/kinesis/models.py, "not safe for concurrency"), so concurrent PutRecords on one
shard overwrite each other and acknowledged records vanish; reading a stream back after a concurrent push found
29,996 of 30,000 records. moto's work is pure Python under the GIL, so threads add no throughput either: serving
requests one at a time keeps every acknowledged record and costs nothing.

moto finds a shard's first and last sequence number by copying every key of the shard into a list
(`list(self.records.keys())[-1]`), once per record put: a push slows as the shard fills (measured here with 2,000
`Shard.put_record` calls: 70 us per record into an empty shard, 5.2 ms into one holding 100,000), so a long
session's local Kinesis fell behind loads it had taken an hour earlier. `constant_time_shard_ends` reads both ends of the shard's
ordered dict instead (20 us either way); the numbering is unchanged.
"""

from __future__ import annotations

import argparse
import signal
import sys

from moto.kinesis.models import Shard
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def constant_time_shard_ends() -> None:
    """Make moto's Kinesis Shard read its first and last sequence number from the ends of its ordered dict."""
    Shard.get_min_sequence_number = lambda self: next(iter(self.records)) if self.records else 0
    Shard.get_max_sequence_number = lambda self: next(reversed(self.records)) if self.records else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    constant_time_shard_ends()
    run_simple(args.host, args.port, DomainDispatcherApplication(create_backend_app), threaded=False,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
