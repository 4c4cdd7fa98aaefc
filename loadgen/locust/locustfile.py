"""loadgen's locustfile: `locust -f loadgen/locust/locustfile.py --stack S --env E` (or `loadgen locust`). Run
plainly, it prepares the target at init as `loadgen locust` does before it starts Locust (loadgen.locust.prepare,
in a child process); the embedded target must be up (`loadgen local up`).

Where it sits: Locust's command line and web UI (the edge: this file reads Locust's parsed options) -> one
LocustRun per process (loadgen.locust.run) -> the users (loadgen.locust.users: HotPathUser for API routes, GEO
queries, the matching core and the DynamoDB conditional write, whose operations (loadgen.locust.operations) are
made at init in each process that runs users, a conditional write's hot items seeded there, and finished as
the test stops, before the process's last recording is sent; loadgen.locust.kinesis_user: one KinesisUser in
the whole test for the streams; a user class with nothing to drive in the stack is taken out at init) -> each
worker's recording sent with its stats (`events.report_to_master`) and merged exactly on the master
(`events.worker_report`) -> at the test's end the master (or a local runner) writes reports/<run-id>/
(loadgen.locust.report) and sets `environment.process_exit_code` from the verdict (0 pass, 1 fail). Bad options:
one line, exit 2.

Import order: Locust patches the standard library for gevent when it is imported, before this file is loaded,
and nothing imported here pulls in boto3, botocore or aiobotocore (tests/test_locust.py checks both files in a
real Locust process): an AWS client imported before the patching ends in RecursionError. botocore is imported
only at init, after the patching: by a stack's stream definitions and its conditional write's table definition
(target.local_resources), and a `--target aws` run's API key and credentials.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import events
from locust.runners import STATE_MISSING, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from loadgen.edge_context import build_context
from loadgen.drive.geo_bench import geo_totals, server_geo_latency
from loadgen.drive.ramp import RampPlan
from loadgen.drive.sans_io import run_steps
from loadgen.drive.scheduler import STOP_DRAIN_S, cause_of
from loadgen.drive.sigv4 import credentials_for
from loadgen.errors import LoadgenError
from loadgen.locust import PREPARED_ENV, verdict_tab
from loadgen.locust.recording import WorkerRecordings, local_merged
from loadgen.locust.report import write_report
from loadgen.locust.run import OPEN_ENDED_S, LocustRun, RunOptions, clock
from loadgen.locust.profile_shapes import ProfileShape
from loadgen.locust import kinesis_user
from loadgen.locust.ddb_client import DynamoClient
from loadgen.locust.kinesis_user import KinesisUser
from loadgen.locust.users import HotPathUser, attach

__all__ = ["HotPathUser", "KinesisUser"]
log = logging.getLogger("loadgen.locust")
TEST_MESSAGE = "loadgen_test"
"""Master -> workers at each test start (and to a worker joining a running test): the run id, the stage plan and
span every worker records on (so their recordings merge) and how far into the test it is."""
STOP_MESSAGE = "loadgen_stop"
"""Master -> workers when its test stops without Locust telling them (its quit at --run-time, which then gives
their last reports half a second): each stops its users and sends its last recording, its operations finished."""
FINALS_WAIT_S = STOP_DRAIN_S + 10.0
"""How long a master's test stop waits for its workers' last recordings (a stream's drain, a conditional write's
items read back)."""


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--stack", env_var="LOADGEN_STACK", include_in_web_ui=False, help="Stack, e.g. food_delivery.")
    parser.add_argument("--env", env_var="LOADGEN_ENV", include_in_web_ui=False, help="dev, staging or prod.")
    parser.add_argument("--scenario", env_var="LOADGEN_SCENARIO", default=None, include_in_web_ui=False,
                        help="A named scenario of the profile ([scenarios.NAME]): the requests and rates it drives.")
    parser.add_argument("--tfvars", env_var="LOADGEN_TFVARS", include_in_web_ui=False,
                        help="A candidate tfvars file judged in place of the env's own.")
    parser.add_argument("--out", env_var="LOADGEN_OUT", include_in_web_ui=False,
                        help="Folder of the run dirs (default: the repository's reports/).")
    parser.add_argument("--target", env_var="LOADGEN_TARGET", default="local", choices=("local", "aws"),
                        include_in_web_ui=False, help="local (the embedded target) or aws.")
    parser.add_argument("--users-at-peak", type=float, default=20.0, env_var="LOADGEN_USERS_AT_PEAK",
                        include_in_web_ui=False, help="Users that together send the profile's peak rate.")
    parser.add_argument("--rate-scale", type=float, default=1.0, env_var="LOADGEN_RATE_SCALE",
                        include_in_web_ui=False, help="Multiple of the profile's rates at --users-at-peak users.")
    parser.add_argument("--ramp-duration", type=float, default=None, env_var="LOADGEN_RAMP_DURATION",
                        include_in_web_ui=False, help="Seconds the profile's ramp (its shapes) is compressed to.")
    parser.add_argument("--headroom", type=float, default=1.3, include_in_web_ui=False,
                        help="The capacity model's headroom.")


def _fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(2)


def _prepare(options) -> None:
    """A plain `locust -f`: the target is prepared as `loadgen locust` prepares it (loadgen.locust.prepare, in a
    child process at init: its AWS clients stay out of this gevent process)."""
    done = subprocess.run([sys.executable, "-m", "loadgen.locust.prepare", "--stack", options.stack, "--env",
                           options.env, "--target", options.target,
                           *(["--tfvars", options.tfvars] if options.tfvars else []),
                           *(["--scenario", options.scenario] if options.scenario else [])],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        _fail(f"preparing the target failed: "
              f"{lines[-1].removeprefix('error: ') if lines else f'exit {done.returncode}'}")


@events.init.add_listener
def _init(environment, **_) -> None:
    options = environment.parsed_options
    if not options.stack or not options.env:
        _fail("loadgen's locustfile needs --stack S and --env E (or LOADGEN_STACK / LOADGEN_ENV)")
    try:
        ctx = build_context(options.stack, options.env, options.target, Path(options.out) if options.out else None,
                            "locust", False, needs_api=True, tfvars=Path(options.tfvars) if options.tfvars else None,
                            scenario=options.scenario)
        if not isinstance(environment.runner, WorkerRunner) and os.environ.get(PREPARED_ENV) != "1":
            _prepare(options)
        run = LocustRun(ctx, RunOptions(options.stack, options.env, options.tfvars, options.out,
                                        options.users_at_peak, options.rate_scale, options.ramp_duration,
                                        options.headroom))
    except LoadgenError as exc:
        _fail(str(exc))
    attach(environment, run)
    runs_users = not isinstance(environment.runner, MasterRunner)
    if runs_users:
        try:
            run.make_operations()
        except LoadgenError as exc:
            _fail(str(exc))
    drives = {HotPathUser: bool(run.user_peaks), KinesisUser: bool(run.streams)}
    environment.user_classes = [u for u in environment.user_classes if drives.get(u, True)]  # same in every process
    if run.loads:
        url = urlsplit(next(iter(run.loads.values())).url)
        HotPathUser.host = f"{url.scheme}://{url.netloc}"
    if isinstance(environment.runner, WorkerRunner):
        _Worker(environment, run)
    else:
        _Judge(environment, run)
    if run.streams and runs_users:  # after the message handlers: starting a
        # process yields to gevent's hub, which may deliver the master's first message meanwhile
        kinesis_user.prepare(environment)
        events.quitting.add_listener(lambda environment, **_: kinesis_user.release(environment))
    if run.operations:  # (after the message handlers too: seeding the hot items yields to the hub)
        try:
            run.prepare_operations()
        except LoadgenError as exc:
            _fail(str(exc))
        events.quitting.add_listener(lambda environment, **_: run.close_operations())
    gevent.get_hub().loop.update_now()  # set-up blocked the loop for seconds: timers armed next (--run-time) count
    # from now, not from the loop's last look at the clock


def _written_tables(run: LocustRun) -> dict:
    """The tables the routes write, by address (local target only: a COUNT scan is not for a real table)."""
    if run.ctx.target.kind != "local":
        return {}
    from loadgen.target.local_resources import table_at  # (imports botocore: at init, after gevent's patching)

    addresses = sorted({load.writes_table for load in run.loads.values() if load.writes_table})
    return {address: table_at(run.ctx.resolved, address, "writes_table") for address in addresses}


class _Worker:
    """A worker's side of each test: the master's plan, and its recording sent with every stats report."""

    def __init__(self, environment, run: LocustRun):
        self.environment, self.run, self.stopped = environment, run, False
        environment.runner.register_message(TEST_MESSAGE, self.test_message)
        environment.runner.register_message(STOP_MESSAGE, self.stop_message)
        events.report_to_master.add_listener(self.report)
        events.test_stop.add_listener(self.test_stop)

    def test_message(self, environment, msg, **_) -> None:
        data = msg.data
        if data["run_id"] == self.run.ctx.run_id:
            return  # this test's recording goes on
        self.run.start_test(RampPlan(tuple(data["durations_s"]), tuple(data["fractions"])), data["span_s"],
                            data["run_id"], data["elapsed_s"])
        self.stopped = False

    def stop_message(self, environment, msg, **_) -> None:
        if not self.stopped:
            environment.runner.stop()  # (its test_stop sends the last recording)

    def report(self, client_id, data, **_) -> None:
        self.run.live_operations()
        data["loadgen"] = self.run.recording.to_wire()
        data["loadgen_run"] = self.run.ctx.run_id
        data["loadgen_final"] = self.stopped

    def test_stop(self, environment, **_) -> None:
        """The last recording goes to the master with the last stats as the test stops (not 3 s later)."""
        self.stopped = True
        self.run.finish_operations()  # (its users have stopped: the hot items are read back)
        environment.runner._send_stats()  # Locust's own flush, the one its quit message runs


class _Judge:
    """The master's (or a local runner's) side of each test: the plan it records on, the merge, the report."""

    def __init__(self, environment, run: LocustRun):
        self.environment, self.run = environment, run
        self.recordings = WorkerRecordings()
        self.finals: set[str] = set()
        self.stopped = self.written = True
        self.distributed = isinstance(environment.runner, MasterRunner)
        events.test_start.add_listener(self.test_start)
        events.test_stop.add_listener(self.test_stop)
        events.worker_report.add_listener(self.worker_report)
        events.worker_connect.add_listener(self.worker_connect)
        events.quitting.add_listener(self.quitting)
        self.geo_before = (0, 0)
        self.written_tables = _written_tables(run)
        """The tables the routes write (local target), by address: their items are counted at init and after each
        test, over a gevent DynamoDB client (no process is started after a test stops: a fork then was seen to
        leave Locust stuck at exit)."""
        self.dynamo = DynamoClient(run.ctx.target, credentials_for(run.ctx.target)) if self.written_tables else None
        self.table_items = self.table_counts()
        verdict_tab.install(environment, run, self.merged, self.server_geo)

    def plan(self) -> tuple[RampPlan | None, float]:
        """The stages the test is recorded on and its span: its profile shape's; else one stage, as long as the
        test runs (--run-time, or open-ended until stopped: the report's stage is the time it ran)."""
        shape = self.environment.shape_class
        if isinstance(shape, ProfileShape):
            plan = shape.plan()
            return plan, plan.total_s
        run_time = self.environment.parsed_options.run_time
        return None, float(run_time) if run_time else OPEN_ENDED_S

    def test_start(self, environment, **_) -> None:
        shape = environment.shape_class
        if isinstance(shape, ProfileShape) and (shape.stack, shape.env) != (self.run.ctx.stack, self.run.ctx.env):
            log.error(f"shape {type(shape).__name__} is {shape.stack}/{shape.env}'s ramp, but the users drive "
                      f"{self.run.ctx.stack}/{self.run.ctx.env}; pick its own shape")
        plan, span = self.plan()
        self.shaped = plan is not None
        plan = plan or RampPlan.constant(span)
        self.run.start_test(plan, span)
        self.geo_before = self.geo_totals()
        self.recordings.reset()
        self.finals.clear()
        self.stopped = self.written = False
        self.aborted = None
        if self.distributed:
            environment.runner.send_message(TEST_MESSAGE, self.test_message())

    def test_message(self) -> dict:
        plan = self.run.plan
        return {"run_id": self.run.ctx.run_id, "durations_s": list(plan.durations_s), "fractions": list(plan.fractions),
                "span_s": self.run.span_s, "elapsed_s": clock() - self.run.began}

    def worker_connect(self, client_id, **_) -> None:
        """A worker joining a running test records on its plan, from where the test is."""
        if self.environment.runner.state in (STATE_SPAWNING, STATE_RUNNING):
            self.environment.runner.send_message(TEST_MESSAGE, self.test_message(), client_id=client_id)

    def geo_totals(self) -> tuple[int, int]:
        return geo_totals(self.run.redis.info("commandstats")) if self.run.redis is not None else (0, 0)

    def server_geo(self) -> dict:
        """GeoSpatialBasedCmdsLatency as the Redis server measured it since the test started."""
        return server_geo_latency(self.geo_before, self.geo_totals())

    def table_counts(self) -> dict | str:
        """The written tables' item counts ({address: {"table", "items"}}), or why they could not be read."""
        if not self.written_tables:
            return {}
        from loadgen.target.local_resources import count_steps  # (loaded at init by _written_tables)

        try:
            return {address: {"table": table.name, "items": run_steps(count_steps(table),
                                                                      lambda call: self.dynamo.call(*call))}
                    for address, table in self.written_tables.items()}
        except (Exception, gevent.Timeout) as exc:  # noqa: BLE001 - a dead target after the test is a finding
            return f"counting the items failed: {cause_of(exc)}"

    def merged(self):
        if self.distributed:
            return self.recordings.merged()
        self.run.live_operations()
        return local_merged(self.run.recording)

    def worker_report(self, client_id, data, **_) -> None:
        if data.get("loadgen_run") != self.run.ctx.run_id or self.written:
            return  # another test's (a report sent before its worker heard of this test)
        self.recordings.report(client_id, data["loadgen"])
        if data.get("loadgen_final"):
            self.finals.add(client_id)
        self.maybe_write()

    def test_stop(self, environment, **_) -> None:
        if self.written or self.stopped:
            return
        self.stopped = True
        self.elapsed_s = clock() - self.run.began
        if not self.distributed:
            self.run.finish_operations()
        self.maybe_write()
        if self.distributed and not self.written:  # the workers' last recordings, received meanwhile
            environment.runner.send_message(STOP_MESSAGE, None)
            deadline = clock() + FINALS_WAIT_S
            while not self.written and clock() < deadline:
                gevent.sleep(0.1)

    def connected_workers(self) -> set[str]:
        """The workers still connected (each sends its last recording as the test stops, whether it had users or
        not; one that reported nothing yet, in a short test, is waited for too)."""
        if not self.distributed:
            return set()
        return {node.id for node in self.environment.runner.clients.all if node.state != STATE_MISSING}

    def maybe_write(self, missing_ok: bool = False) -> None:
        """Write once the test stopped and every worker that recorded or is connected sent its last recording."""
        if not self.stopped or self.written:
            return
        missing = (set(self.recordings.latest) | self.connected_workers()) - self.finals
        if missing and not missing_ok:
            return
        if missing:
            log.error(f"{len(missing)} worker(s) sent no final recording; the report holds their last one")
        self.written = True
        plan = self.run.plan if self.shaped else RampPlan.constant(self.elapsed_s)
        workers = len(self.recordings.latest) if self.distributed else 1
        before, self.table_items = self.table_items, self.table_counts()
        summary = write_report(self.run, self.merged(), self.environment.stats, self.elapsed_s, plan, workers,
                               self.server_geo(), self.aborted, (before, self.table_items))
        self.environment.process_exit_code = 0 if summary["verdict"] == "pass" else 1
        log.info(f"loadgen verdict: {summary['verdict'].upper()}  report: {self.run.ctx.run_dir}")

    def quitting(self, environment, **_) -> None:
        if not self.stopped:  # Locust is shutting down (SIGINT/SIGTERM) with a test running: the test stops as
            # from the web UI's stop (workers send their last recordings), and its report says it was cut short
            self.aborted = "Locust was stopped by a signal before the test ended"
            environment.runner.stop()
        self.maybe_write(missing_ok=True)
