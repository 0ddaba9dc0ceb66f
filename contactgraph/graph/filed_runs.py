"""The runs a party created with its parent, links and activities starts (create_filed):
as if it were created, then each edge linked, then each activity recorded, one after
another, all inside the create's one transaction.

Both stores hand the same inputs here after their inserts: the checked batch, the
stored parties and categories it names, and the open steps of those parties. The
stages then run in memory, each seeing the steps the ones before it opened and closed,
so a store reads open steps once and writes the steps once. What the new runs need
from the graph (process_context) does not depend on the steps, only on the graph the
inserts left: one read serves every stage, the new edges included (a step may go to the
user a new RESPONSIBLE_FOR edge makes responsible).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from .history import Actor
from .model import Batch, Category, Party
from .process_context import Found, Wants
from .process_runs import Outcome, Pending, RunStep, on_activity, on_link, on_party

Stage = Callable[[Sequence[RunStep], Actor], Pending]


@dataclass(frozen=True)
class Filed:
    """A checked batch that asked for its runs, with what its store read for the checks."""

    batch: Batch
    stored: Mapping[str, Party]  # the parties it names and does not create
    categories: Mapping[str, Category]
    actor: Actor

    def wants(self) -> Wants:
        """What every stage's new runs need read: their triggers do not depend on steps."""
        wanted = [stage((), self.actor).wants() for stage in self._stages()]
        return Wants(
            responsible=frozenset(p for w in wanted for p in w.responsible),
            roles=frozenset(r for w in wanted for r in w.roles),
            parents=frozenset(p for w in wanted for p in w.parents),
        )

    def outcome(self, held: Mapping[str, Sequence[RunStep]], found: Found) -> Outcome:
        """The stages in order: each party entering its category, each edge, each
        activity. An activity an open step blocks (one opened by an earlier stage too)
        refuses the whole batch: FailedPrecondition, raised inside the transaction."""
        open_steps = [s for steps in held.values() for s in steps]
        opened: list[RunStep] = []
        closed: list[RunStep] = []
        for stage in self._stages():
            outcome = stage(open_steps, self.actor).outcome(found)
            done = {s.id for s in outcome.closed}
            open_steps = [s for s in open_steps if s.id not in done] + outcome.opened
            opened += outcome.opened
            closed += outcome.closed
        return Outcome(opened, closed)

    def _stages(self) -> Iterator[Stage]:
        parties = {**self.stored, **{p.id: p for p in self.batch.parties}}
        for party in self.batch.parties:
            yield partial(on_party, party, None, self.categories.get(party.category_id or ""))
        for rel in self.batch.relationships:
            yield partial(on_link, rel, parties, self.categories)
        for activity in self.batch.activities:
            yield partial(on_activity, activity, parties, self.categories)
