"""The local target as one consistent thing: a replaced service takes what depends on it along, a service's
orphaned workers are stopped by `down`, and concurrent `up`s start one set of services."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
import urllib.request
from types import SimpleNamespace

import aiohttp
import pytest

from loadgen.drive.api_pusher import warm_up
from loadgen.errors import LoadgenError
from loadgen.target.api_emulator import WARM_PATH
from loadgen.target.local_target import LocalTarget, _cmdline, group_members, is_ours


def children_running(marker: str) -> list[int]:
    """Processes this test started (directly) whose command line holds `marker`."""
    mine = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid() and fields[0] != "Z" and marker in _cmdline(int(entry)):
                mine.append(int(entry))
    return mine


def test_up_restarts_what_depends_on_a_replaced_service_and_down_stops_orphaned_workers(tmp_path):
    target = LocalTarget(tmp_path / "state")
    first = target.up()
    try:
        os.killpg(first["moto"].pid, signal.SIGKILL)
        time.sleep(0.2)
        second = target.up()
        assert second["moto"].pid != first["moto"].pid and is_ours(second["moto"])
        assert second["api"].pid != first["api"].pid  # the emulator held the dead moto's address
        assert second["redis"].pid == first["redis"].pid  # what did not depend on it stays
        assert target.status()["up"]
        api = second["api"]
        request = urllib.request.Request(f"{api.url}{WARM_PATH}/food_delivery/dev", method="POST", data=b"")
        assert urllib.request.urlopen(request, timeout=120).status == 200  # its handler workers now run
        workers = [pid for pid in group_members(api.pid) if pid != api.pid]
        assert workers
        os.kill(api.pid, signal.SIGKILL)  # the emulator dies alone; its workers are orphaned in its group
        time.sleep(0.2)
        assert any(_cmdline(pid) for pid in workers)
    finally:
        target.down()
    assert not group_members(first["api"].pid) and not group_members(api.pid)
    assert not target.services()


def test_concurrent_ups_start_one_set_of_services(tmp_path):
    target = LocalTarget(tmp_path / "state")
    errors = []

    def up() -> None:
        try:
            LocalTarget(tmp_path / "state").up()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    before = {marker: set(children_running(marker))  # a target another module shares may be running too
              for marker in ("loadgen.target.moto_server", "loadgen.target.api_emulator")}
    threads = [threading.Thread(target=up) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        for marker, others in before.items():
            assert len(set(children_running(marker)) - others) == 1, marker
        assert target.status()["up"]
    finally:
        target.down()
    assert not set(children_running("loadgen.target.moto_server")) - before["loadgen.target.moto_server"]


def test_an_emulator_that_does_not_answer_the_warm_up_is_one_line(tmp_path):
    with socket.socket() as closed:  # a port nothing listens on: the emulator died
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    ctx = SimpleNamespace(stack="food_delivery", env="dev", target=SimpleNamespace(api_url=f"http://127.0.0.1:{port}"))

    async def warm() -> None:
        async with aiohttp.ClientSession() as session:
            await warm_up(session, ctx)

    with pytest.raises(LoadgenError, match="did not answer while preparing food_delivery/dev") as error:
        asyncio.run(warm())
    assert "\n" not in str(error.value) and "loadgen local up" in str(error.value)
