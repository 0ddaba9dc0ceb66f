"""How a store tells the server which process steps its writes opened and closed: one
listener, set when the server starts, awaited after each write commits. Never inside the
transaction, so a write rolled back tells nothing; a store used without a server (the
CLI) has no listener and tells no one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .process_runs import Outcome

StepListener = Callable[[Outcome], Awaitable[None]]


class StepListeners:
    """Mixed into both stores: their views (scoped, acting) copy the listener along."""

    _step_listener: StepListener | None = None

    def on_steps(self, listener: StepListener) -> None:
        self._step_listener = listener

    async def _committed(self, outcome: Outcome) -> None:
        if self._step_listener is not None and (outcome.opened or outcome.closed):
            await self._step_listener(outcome)
