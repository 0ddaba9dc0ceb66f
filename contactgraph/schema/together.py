"""A parent's awaited fields, or a list's awaited items, awaited in the awaiting task.

graphql-core waits for several awaited fields of one object, and for the awaited items of
one list, with a task each (`gather_with_cancel`): on the page of 50 organizations with
their children and timelines some 150 tasks, each scheduled, run in a copy of the context
and reported back through callbacks, to wait for the futures of three loader batches.
`Together` steps the coroutines itself instead: each runs until it waits for a future, and
resumes once that future is done; while none is done, the task awaiting `Together` waits
for the first of them to be. Every coroutine runs up to its first wait before the awaiting
task yields, so all of their loads still join the same batches; a future already done (a
loader's cached answer) resumes its coroutine at once. Each runs in a context of its own,
copied as a task's is, so what one sets (a tracing span made current across a wait) is
not what another sees.

Failure is as with `gather_with_cancel`, but for one thing: the first error is raised once
the others are stopped (CancelledError raised into each), yet the futures they wait for
are left to finish, since a loader answers equal loads with one future, which a load of
another party that goes on may be waiting for too (graphql-core cancelled it, and with it
that other load: a failed party's field could end the whole request). A cancelled request
does cancel them (a loader's pending load, a store call).
"""

from __future__ import annotations

from asyncio import CancelledError, Future, Task, get_running_loop, wait
from collections.abc import Awaitable, Generator
from contextlib import suppress
from contextvars import Context, copy_context
from typing import Any

Step = Generator[Any, None, Any]
"""A coroutine as awaited: `__await__` of the awaitable."""
Waiting = dict[int, tuple[Step, Context, Future[Any] | None]]
"""Each unfinished coroutine, its context, and the future it waits for (None after a bare
yield)."""


class _Stopped(CancelledError):
    """Raised into the coroutines a sibling's error stops; the futures they wait for go on."""


class Together:
    """Awaits to the values of `awaitables`, in their order."""

    __slots__ = ("_awaitables",)

    def __init__(self, awaitables: list[Awaitable[Any]]) -> None:
        self._awaitables = awaitables

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return _run(self._awaitables)


def _run(awaitables: list[Awaitable[Any]]) -> Generator[Any, None, list[Any]]:
    results: list[Any] = [None] * len(awaitables)
    waiting: Waiting = {}
    try:
        # every one starts, as gathered tasks all would, before the first error is raised
        failed: Exception | None = None
        for index, awaitable in enumerate(awaitables):
            try:
                _advance(awaitable.__await__(), copy_context(), index, results, waiting)
            except Exception as error:
                failed = failed or error
        if failed is not None:
            raise failed
        while waiting:
            ready = [i for i, (_, _, future) in waiting.items() if future is None or future.done()]
            if ready:
                for index in ready:
                    step, context, _ = waiting.pop(index)
                    _advance(step, context, index, results, waiting)
                continue
            yield from _first_done([future for _, _, future in waiting.values() if future])
    except _Stopped:
        _stop(waiting, cancel=False)
        raise
    except CancelledError:
        _stop(waiting, cancel=True)
        raise
    except BaseException:
        _stop(waiting, cancel=False)
        raise
    return results


def _advance(
    step: Step, context: Context, index: int, results: list[Any], waiting: Waiting
) -> None:
    """Run one coroutine on to its next wait, or to its end, in its context."""
    try:
        waited = context.run(step.send, None)
    except StopIteration as done:
        results[index] = done.value
        return
    if waited is not None:
        if not getattr(waited, "_asyncio_future_blocking", False):
            step.close()
            raise RuntimeError(f"a resolver yielded {waited!r}, which is not a future")
        waited._asyncio_future_blocking = False  # taken over, as a task would
    waiting[index] = (step, context, waited)


def _first_done(futures: list[Future[Any]]) -> Generator[Any, None, None]:
    """Wait until one of `futures` is done; one alone is waited for as a task would, so
    that cancelling the task cancels it."""
    if not futures:  # only bare yields: let the loop run once, as asyncio.sleep(0)
        yield None
        return
    if len(futures) == 1:
        future = futures[0]
        future._asyncio_future_blocking = True
        yield future
        return
    woken: Future[None] = get_running_loop().create_future()

    def wake(_: Future[Any]) -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(wake)
    try:
        yield from woken.__await__()
    finally:
        for future in futures:
            future.remove_done_callback(wake)


def _stop(waiting: Waiting, cancel: bool) -> None:
    """Stop the unfinished coroutines as cancelled tasks stop, the futures they wait for
    cancelled only with the request; whatever the coroutines raise is dropped."""
    for step, context, future in waiting.values():
        if future is not None:
            if cancel:
                future.cancel()
            else:  # nobody reads it now: its error, if any, is not worth a log line
                future.add_done_callback(_observed)
        try:
            again = context.run(step.throw, CancelledError() if cancel else _Stopped())
        except BaseException:  # stopped, as asked
            continue
        # it waits on its way out (a store session closing): a task finishes it, as the
        # task it would have had without us
        if again is not None:
            again._asyncio_future_blocking = False
        finishing = get_running_loop().create_task(_finish(step, again), context=context)
        _FINISHING.add(finishing)
        finishing.add_done_callback(_FINISHING.discard)
    waiting.clear()


# the stopped coroutines still finishing, held so that none is collected half-way
_FINISHING: set[Task[None]] = set()


class _Resumed:
    """A coroutine taken over part-way, awaited from where it stopped."""

    __slots__ = ("_step",)

    def __init__(self, step: Step) -> None:
        self._step = step

    def __await__(self) -> Step:
        return self._step


async def _finish(step: Step, waited: Future[Any] | None) -> None:
    """Run a stopped coroutine's way out to its end, whatever it raises."""
    with suppress(BaseException):
        if waited is not None:
            await wait([waited])
        await _Resumed(step)


def _observed(future: Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


async def settled(values: Any, keys: list[Any]) -> Any:
    """`values` (a field's results by name, or a list's items) with the awaitables at
    `keys` replaced by what they await to; one alone is simply awaited."""
    if len(keys) == 1:
        values[keys[0]] = await values[keys[0]]
        return values
    for key, value in zip(keys, await Together([values[key] for key in keys]), strict=True):
        values[key] = value
    return values
