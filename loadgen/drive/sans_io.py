"""Running a hot path's operation written sans I/O: the same steps over an asyncio client or a blocking one.

Where it sits: a rate-driven driver whose one operation is several calls (drive.matching_bench: a GEO query, the
candidates' workload, the winner's increment; drive.contended_writes: read, decide, conditional write) writes it
once as a generator that yields each call it needs and receives its reply (`reply = yield call`); a failed call
is thrown into the generator at its `yield`, so what the operation counts on an error (a conditional failure, a
write error) is decided there too, and the generator's return value is the operation's. The runners below only do
the I/O: `run_steps_async` for the asyncio drivers (`loadgen validate`, the benches), `run_steps` for a blocking
client (gevent-patched in a Locust process: loadgen.locust).
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Generator, TypeVar

Call = TypeVar("Call")
Result = TypeVar("Result")
Steps = Generator[Call, Any, Result]
"""An operation's steps: yields the calls it needs, is sent each reply (or thrown its error), returns its result."""


def _advance(steps: Steps, reply: Any, error: BaseException | None) -> tuple[bool, Any]:
    """The steps sent the last call's reply (or thrown its error): (False, the next call) or (True, the result)."""
    try:
        return False, steps.send(reply) if error is None else steps.throw(error)
    except StopIteration as done:
        return True, done.value


def run_steps(steps: Steps, call: Callable[[Call], Any]) -> Result:
    """The steps over a blocking `call`; its errors (any BaseException, a greenlet's kill included) are thrown
    into the steps, which count them and re-raise."""
    done, value = _advance(steps, None, None)
    while not done:
        try:
            reply, error = call(value), None
        except BaseException as exc:  # noqa: BLE001 - handed to the steps, which decide and re-raise
            reply, error = None, exc
        done, value = _advance(steps, reply, error)
    return value


async def run_steps_async(steps: Steps, call: Callable[[Call], Awaitable[Any]]) -> Result:
    """The steps over an awaitable `call` (a cancellation is thrown into them as any error)."""
    done, value = _advance(steps, None, None)
    while not done:
        try:
            reply, error = await call(value), None
        except BaseException as exc:  # noqa: BLE001 - handed to the steps, which decide and re-raise
            reply, error = None, exc
        done, value = _advance(steps, reply, error)
    return value
