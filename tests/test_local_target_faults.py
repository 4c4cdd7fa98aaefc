"""The local target as one consistent thing: a replaced service takes what depends on it along, a service's
orphaned workers are stopped by `down`, and concurrent `up`s start one set of services."""

from __future__ import annotations

import os
import signal
import threading
import time
import urllib.request

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

    threads = [threading.Thread(target=up) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(children_running("loadgen.target.moto_server")) == 1
        assert len(children_running("loadgen.target.api_emulator")) == 1
        assert target.status()["up"]
    finally:
        target.down()
    assert not children_running("loadgen.target.moto_server")
