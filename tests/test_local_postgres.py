"""The local target's PostgreSQL stands in for the stacks' Aurora: every table the handlers' SQL names is created
by the stack's schema.sql in the cluster's own schema; `loadgen push api` on property_maintenance leaves one audit
row per vendor status update that answered 2xx, written by the real handler over TLS with the credentials of the
cluster's master secret on the local Secrets Manager; `local status` shows `postgres_url` without the password, and
`local down` stops the server and removes its cluster folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import boto3
import psutil
import pytest
from click.testing import CliRunner

from conftest import TERRAFORM
from loadgen.cli import main
from loadgen.run_context import LOCAL_CREDENTIALS, LOCAL_REGION
from loadgen.target.local_postgres import AURORA_PORT, SUPERUSER, role_name
from loadgen.target.local_target import LocalTarget

SQL_TABLE = re.compile(r"\b(?:INSERT INTO|FROM|UPDATE|JOIN)\s+([a-z_][a-z0-9_]*)\b")
"""A table named in a handler's SQL (upper-case keywords: Python's `from` never matches)."""


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    local = LocalTarget(tmp_path_factory.mktemp("local-target"))
    try:
        yield local
    finally:
        local.down()


def handler_tables(stack: str) -> set[str]:
    return {name for path in (TERRAFORM / stack / "lambda").glob("*.py") for name in SQL_TABLE.findall(path.read_text())}


@pytest.mark.parametrize("stack", ["property_maintenance", "fleet_telematics", "food_delivery"])
def test_every_table_the_handlers_name_is_created_by_the_stacks_schema_in_the_clusters_own_schema(target, stack):
    target.up()
    tables = handler_tables(stack)
    assert tables, f"{stack}'s handlers name no Aurora table"
    postgres = target.postgres()
    role, password = postgres.provision_cluster(f"schema-check-{stack}", "schema_check",
                                                (TERRAFORM / stack / "lambda" / "schema.sql").read_text())
    as_role = postgres.connect("schema_check", role, password)
    try:
        found = as_role.run("SELECT tablename, schemaname, tableowner FROM pg_tables WHERE tablename = ANY(:t)",
                            t=sorted(tables))
    finally:
        as_role.close()
    assert {name for name, _, _ in found} == tables
    assert {(schema, owner) for _, schema, owner in found} == {(role, role)}


def vendor_status_role(moto_url: str) -> str:
    """The username of the cluster's master secret, as the handler reads it."""
    secrets = boto3.client("secretsmanager", endpoint_url=moto_url, region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
    names = [s["Name"] for s in secrets.list_secrets()["SecretList"] if s["Name"].startswith("rds!cluster-")]
    assert names == ["rds!cluster-propmaint-dev-maintenance-audit"]
    secret = json.loads(secrets.get_secret_value(SecretId=names[0])["SecretString"])
    assert set(secret) == {"username", "password"}
    return secret["username"]


def test_push_api_leaves_an_audit_row_per_2xx_vendor_status_update_and_down_stops_postgres(target, monkeypatch):
    target.up()
    monkeypatch.setenv("LOADGEN_STATE_DIR", str(target.state_dir))
    runner = CliRunner()
    shown = json.loads(runner.invoke(main, ["local", "status", "--json"]).output)
    postgres = target.postgres()
    assert re.fullmatch(rf"postgresql://{SUPERUSER}@127\.\d+\.\d+\.\d+:{AURORA_PORT}/postgres", shown["postgres_url"])
    assert postgres.password and postgres.password not in json.dumps(shown)

    # dev's profile is a few requests a minute; x1000 for 2 s is a few dozen updates, fewer than the open requests
    # of either pool, so none repeats (a repeat answers 200 as a duplicate without a new audit row)
    pushed = runner.invoke(main, ["push", "api", "--stack", "property_maintenance", "--env", "dev", "--duration", "2",
                                  "--rate-scale", "1000", "--json", "--out", str(target.state_dir / "reports")])
    assert pushed.exit_code in (0, 1), pushed.output  # 1: a latency verdict on this shared machine
    answered = json.loads(pushed.output)["status_counts"]["POST /vendor/status"]
    assert answered["2xx"] > 0, answered

    role = vendor_status_role(target.status()["aws_endpoint_url"])
    assert role == role_name("propmaint-dev-maintenance-audit")
    admin = postgres.connect("maintenance")
    try:
        audit = admin.run(f"SELECT count(*), count(DISTINCT (request_id, version)) FROM {role}.maintenance_audit")
        assignments = admin.run(f"SELECT count(*) FROM {role}.vendor_assignments")
    finally:
        admin.close()
    assert audit == [[answered["2xx"], answered["2xx"]]]
    assert assignments == [[answered["2xx"]]]  # every update is on a request of its own: one assignment row each
    assert "audit_write_failed" not in (target.state_dir / "api.log").read_text()

    server = target.services()["postgres"]
    processes = [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
    assert len(processes) > 1  # the postmaster and its checkpointer, writers, launchers...
    assert target.down() == ["api", "postgres", "moto", "redis"]
    assert not [p.pid for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not Path(server.data_dir).exists()


def test_a_service_that_fails_to_start_leaves_no_process_behind(tmp_path, monkeypatch):
    import loadgen.target.local_target as local_target

    started = []

    def recording(start):
        def wrapper(state_dir):
            result = start(state_dir)
            started.append(result[0] if isinstance(result, tuple) else result)
            return result
        return wrapper

    for name in ("start_redis", "start_moto", "start_postgres"):
        monkeypatch.setattr(local_target, name, recording(getattr(local_target, name)))

    def broken_api(*args, **kwargs):
        raise local_target.LoadgenError("the API emulator did not start (injected)")

    monkeypatch.setattr(local_target, "start_api", broken_api)
    local = LocalTarget(tmp_path / "state")
    with pytest.raises(local_target.LoadgenError, match="injected"):
        local.up()
    assert len(started) == 3
    assert not [s.pid for s in started if psutil.pid_exists(s.pid) and psutil.Process(s.pid).status() != "zombie"]
    assert not local.state_file.exists()
    assert not any(s.data_dir and Path(s.data_dir).exists() for s in started)
