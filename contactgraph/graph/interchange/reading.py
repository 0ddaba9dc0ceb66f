"""Reading a dump: a first pass checks every line before anything is written, a second
reads it again in batches for the store.

The check holds the ids of parties and relationships (what lines refer to, and what
must not repeat): some 100 bytes each, never the records. Activities and history entries,
the bulk of a graph, must come in their export order instead, so a repeated one is met
next to itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import BadUserInput
from ..history import Change
from ..identity import BUILTIN_ROLES, ApiToken, Grant
from ..levels import Level
from ..model import Activity, Category, Party, PartyKind, Relationship
from ..opportunities import Opportunity
from ..pipelines import Pipeline
from ..process_runs import RunStep
from ..times import format_instant
from .format import SECTIONS, DumpBatch, Header, read_header, read_line

MAX_LINE = 16 * 1024 * 1024  # bytes: a party's contact data, however much, fits many times


class BadDump(BadUserInput):
    """A line that cannot be imported, and why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


def lines(stream: IO[bytes], copy: IO[bytes] | None = None) -> Iterator[tuple[int, bytes]]:
    """The stream's lines, numbered from 1, each at most MAX_LINE bytes; with `copy`, each
    also written there (standard input is read twice that way)."""
    number = 0
    while text := stream.readline(MAX_LINE + 1):
        number += 1
        if len(text) > MAX_LINE and not text.endswith(b"\n"):
            raise BadDump(number, f"longer than {MAX_LINE:,} bytes")
        if copy is not None:
            copy.write(text)
        if not text.strip():
            raise BadDump(number, "empty line")
        yield number, text


@dataclass
class Check:
    """The state of the first pass: what has been seen, and what is still owed."""

    header: Header | None = None
    section: int = -1
    levels: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    parties: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    relationships: set[str] = field(default_factory=set)
    stages: dict[str, set[str]] = field(default_factory=dict)  # of each pipeline
    grants: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    # the key of the previous ordered line (activity, opportunity, step, change)
    last: tuple[str, ...] = ()
    owed: list[tuple[int, str, str]] = field(default_factory=list)  # (line, what, party id)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SECTIONS, 0))

    def line(self, number: int, text: bytes) -> None:
        if self.header is None:
            try:
                self.header = read_header(text)
            except ValueError as error:
                raise BadDump(number, str(error)) from None
            return
        try:
            kind, item = read_line(text, strict=True)
        except ValueError as error:
            raise BadDump(number, str(error)) from None
        section = list(SECTIONS).index(kind)
        if section < self.section:
            raise BadDump(
                number,
                f"a {kind} after the {list(SECTIONS)[self.section]} lines: sections "
                f"come in the order {', '.join(SECTIONS)}",
            )
        if self.section == 1 and section > 1:
            self._settle()
        if section != self.section:
            self.last = ()
        self.section = section
        self.counts[kind] += 1
        _CHECKS[kind](self, number, item)

    def finish(self, number: int) -> dict[str, int]:
        """The counts of a dump whose every line checked; BadDump for what it still owes."""
        if self.header is None:
            raise BadDump(number, "no header line: this is not a dump")
        self._settle()
        return self.counts

    def _settle(self) -> None:
        """Parties may name parties further on (a contact, a survivor): now all are known."""
        for number, what, party_id in self.owed:
            if party_id not in self.parties:
                raise BadDump(number, f"{what} {party_id} is not a party of the dump")
        self.owed.clear()

    def unique(self, number: int, seen: set[str], what: str, key: str) -> None:
        if key in seen:
            raise BadDump(number, f"duplicate {what} {key}")
        seen.add(key)

    def known(self, number: int, what: str, party_id: str | None) -> None:
        if party_id is not None and party_id not in self.parties:
            raise BadDump(number, f"{what} {party_id} is not a party of the dump")

    def ordered(self, number: int, what: str, key: tuple[str, ...]) -> None:
        if key == self.last:
            raise BadDump(number, f"duplicate {what} {key[-1]}")
        if key < self.last:
            raise BadDump(number, f"{what} {key[-1]} is out of order: {what} lines come sorted")
        self.last = key


def _level(check: Check, number: int, item: Any) -> None:
    level: Level = item
    check.unique(number, check.levels, "level", level.id)


def _category(check: Check, number: int, item: Any) -> None:
    category: Category = item
    check.unique(number, check.categories, "category", category.id)


def _party(check: Check, number: int, item: Any) -> None:
    party: Party = item
    check.unique(number, check.parties, "party", party.id)
    if party.kind is PartyKind.USER:
        check.users.add(party.id)
    if party.category_id is not None and party.category_id not in check.categories:
        raise BadDump(number, f"category {party.category_id} is not a category of the dump")
    for what, other in (("contact", party.contact_id), ("survivor", party.merged_into)):
        if other is not None:
            check.owed.append((number, what, other))


def _relationship(check: Check, number: int, item: Any) -> None:
    rel: Relationship = item
    check.unique(number, check.relationships, "relationship", rel.id)
    if rel.id in check.parties:
        raise BadDump(number, f"duplicate id {rel.id}: a party has it")
    check.known(number, "from", rel.from_id)
    check.known(number, "to", rel.to_id)


def _activity(check: Check, number: int, item: Any) -> None:
    activity: Activity = item
    if activity.id in check.parties or activity.id in check.relationships:
        raise BadDump(number, f"duplicate id {activity.id}: a party or relationship has it")
    check.ordered(number, "activity", (activity.id,))
    check.known(number, "author", activity.author_id)
    check.known(number, "recorder", activity.recorded_by_id)
    if not activity.subject_ids:
        raise BadDump(number, f"activity {activity.id} has no subjects")
    for subject in activity.subject_ids:
        check.known(number, "subject", subject)


def _pipeline(check: Check, number: int, item: Any) -> None:
    pipeline: Pipeline = item
    if pipeline.id in check.stages:
        raise BadDump(number, f"duplicate pipeline {pipeline.id}")
    check.stages[pipeline.id] = {stage.id for stage in pipeline.stages}


def _opportunity(check: Check, number: int, item: Any) -> None:
    deal: Opportunity = item
    check.ordered(number, "opportunity", (deal.id,))
    stages = check.stages.get(deal.pipeline_id)
    if stages is None:
        raise BadDump(number, f"pipeline {deal.pipeline_id} is not a pipeline of the dump")
    if deal.stage_id not in stages:  # its history may name stages since removed
        raise BadDump(number, f"stage {deal.stage_id} is not a stage of {deal.pipeline_id}")
    check.known(number, "organization", deal.organization_id)
    check.known(number, "owner", deal.owner_id)
    for contact_id in deal.contact_ids:
        check.known(number, "contact", contact_id)


def _step(check: Check, number: int, item: Any) -> None:
    step: RunStep = item
    check.ordered(number, "process step", (step.id,))
    check.known(number, "party", step.party_id)
    if step.category_id not in check.categories:
        raise BadDump(number, f"category {step.category_id} is not a category of the dump")
    for what, user_id in (("assignee", step.assignee_id), ("closer", step.done_by_id)):
        check.known(number, what, user_id)


def _user(check: Check, number: int, user_id: str) -> None:
    if user_id not in check.users:
        raise BadDump(number, f"user {user_id} is not a USER party of the dump")


def _grant(check: Check, number: int, item: Any) -> None:
    grant: Grant = item
    check.unique(number, check.grants, "grant", grant.id)
    _user(check, number, grant.user_id)
    check.known(number, "scope", grant.scope_id)
    if grant.role not in _ROLES:
        raise BadDump(number, f"role {grant.role!r} does not exist; roles: {', '.join(_ROLES)}")


def _token(check: Check, number: int, item: Any) -> None:
    token: ApiToken = item
    check.unique(number, check.tokens, "token", token.id)
    check.unique(number, check.hashes, "token secret hash", token.secret_hash)
    _user(check, number, token.user_id)


def _change(check: Check, number: int, item: Any) -> None:
    change: Change = item
    if not change.subject_ids:
        raise BadDump(number, f"history entry {change.id} has no subjects")
    check.ordered(number, "history entry", (format_instant(change.at), change.id))


_ROLES = [role.name for role in BUILTIN_ROLES]
_CHECKS: dict[str, Callable[[Check, int, Any], None]] = {
    "level": _level,
    "category": _category,
    "party": _party,
    "relationship": _relationship,
    "activity": _activity,
    "pipeline": _pipeline,
    "opportunity": _opportunity,
    "step": _step,
    "grant": _grant,
    "token": _token,
    "change": _change,
}


def check(stream: IO[bytes], copy: IO[bytes] | None = None) -> tuple[Header, dict[str, int]]:
    """Check every line of a dump; its header and how many records of each type it holds,
    or BadDump naming the first line that is wrong."""
    state = Check()
    number = 0
    for number, text in lines(stream, copy):
        state.line(number, text)
    counts = state.finish(number + 1)
    assert state.header is not None
    return state.header, counts


def batches(stream: IO[bytes], size: int) -> Iterator[DumpBatch]:
    """A checked dump's records, `size` lines at a time."""
    batch = DumpBatch()
    for number, text in lines(stream):
        if number == 1:
            continue
        kind, item = read_line(text)
        batch.add(kind, item)
        if batch.lines >= size:
            yield batch
            batch = DumpBatch()
    if batch.lines:
        yield batch
