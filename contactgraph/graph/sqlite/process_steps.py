"""Process steps in the embedded store: one row per step, its definition as the run
started in `body` (process_runs.encode), beside the columns a party's runs and a
worklist are read by."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from .. import process_context, process_dates
from ..attribute_filters import sqlite_path
from ..history import Actor, Change
from ..model import DEFAULT_HIERARCHY_TYPES, Activity, Party, Relationship, RelType
from ..process_context import Found, Wants
from ..process_runs import (
    Outcome,
    RunStep,
    decode,
    encode,
    on_activity,
    on_link,
    on_party,
)
from ..times import format_instant, parse_instant, utcnow
from ..worklist import WorklistPage, WorklistQuery
from . import identity, records, walks
from .scopes import Reach

TABLE = """
CREATE TABLE process_steps (
    id          TEXT PRIMARY KEY,
    party_id    TEXT NOT NULL REFERENCES parties(id),
    category_id TEXT NOT NULL,
    assignee_id TEXT,
    due_at      TEXT NOT NULL,
    done_at     TEXT,
    body        TEXT NOT NULL
);
CREATE INDEX process_steps_party ON process_steps(party_id, done_at);
CREATE INDEX process_steps_worklist ON process_steps(assignee_id, due_at, id)
    WHERE done_at IS NULL
"""
# the open steps whose OVERDUE is not told yet, by due time: the overdue watch reads its
# next wake-up and claims what fell due from the front of this index, never the rest
OVERDUE = """
ALTER TABLE process_steps ADD COLUMN overdue_sent_at TEXT;
CREATE INDEX process_steps_due ON process_steps(due_at, id)
    WHERE done_at IS NULL AND overdue_sent_at IS NULL
"""
_UNTOLD = "done_at IS NULL AND overdue_sent_at IS NULL"
# levels above a party a RESPONSIBLE or ROLE step looks for its user
RESPONSIBLE_DEPTH = 64
PARENT_EDGES = [(RelType.PART_OF, "from_id"), (RelType.MEMBER_OF, "from_id")]


def steps(
    conn: sqlite3.Connection, party_ids: Iterable[str], open_only: bool
) -> dict[str, list[RunStep]]:
    """Each party's steps, oldest run first."""
    done = " AND done_at IS NULL" if open_only else ""
    rows = conn.execute(
        f"SELECT party_id, body FROM process_steps WHERE party_id {records.IN_LIST}{done} "
        "ORDER BY rowid",
        (records.bound_list(list(party_ids)),),
    )
    found: dict[str, list[RunStep]] = defaultdict(list)
    for party_id, body in rows:
        found[party_id].append(decode(body))
    return found


def found(conn: sqlite3.Connection, wants: Wants) -> Found:
    """What the write's new runs need (process_context), read now: the chains up of the
    parties whose steps go to a responsible user or a role holder, who is responsible
    at each party of them (the longest-standing edge there), the grants of the roles,
    and the categories of the parties' PART_OF and MEMBER_OF parents."""
    now = utcnow()
    starts = list(wants.chains())
    step = walks.HierarchyStep(DEFAULT_HIERARCHY_TYPES, False, now)
    above = walks.ancestors(conn, starts, step, RESPONSIBLE_DEPTH) if starts else {}
    chains = {s: [s, *(p for p, _ in above.get(s, []))] for s in starts}
    holder: dict[str, str] = {}
    if wants.responsible:
        edges = walks.edges_at(
            conn,
            [p for s in wants.responsible for p in chains[s]],
            [(RelType.RESPONSIBLE_FOR, "to_id")],
            now,
        )
        for anchor, rel in edges:
            holder.setdefault(anchor, rel.from_id)
    grants = identity.grants_of_roles(conn, wants.role_names()) if wants.roles else []
    return Found(
        responsible=process_context.responsible({s: chains[s] for s in wants.responsible}, holder),
        holders=process_context.holders(wants, chains, grants),
        parent_categories=_parent_categories(conn, wants.parents, now),
    )


def _parent_categories(
    conn: sqlite3.Connection, party_ids: Iterable[str], now: datetime
) -> dict[str, frozenset[str]]:
    wanted = list(party_ids)
    if not wanted:
        return {}
    edges = walks.edges_at(conn, wanted, PARENT_EDGES, now)
    parents = records.parties_by_id(conn, {rel.to_id for _, rel in edges})
    found: dict[str, set[str]] = defaultdict(set)
    for anchor, rel in edges:
        category = parents[rel.to_id].category_id if rel.to_id in parents else None
        if category:
            found[anchor].add(category)
    return {p: frozenset(c) for p, c in found.items()}


def for_activity(
    conn: sqlite3.Connection, activity: Activity, parties: dict[str, Party], actor: Actor
) -> Outcome:
    """What recording the activity does to the runs of its subjects (process_runs)."""
    wanted = [p.category_id for p in parties.values() if p.category_id]
    categories = records.categories(conn, wanted) if wanted else {}
    pending = on_activity(activity, parties, categories, _open(conn, activity.subject_ids), actor)
    return pending.outcome(found(conn, pending.wants()))


def for_party(
    conn: sqlite3.Connection, party: Party, before: Party | None, actor: Actor
) -> Outcome:
    """What writing the party does to its runs (process_runs.on_party)."""
    wanted = party.category_id
    category = records.categories(conn, [wanted]).get(wanted) if wanted else None
    held = _open(conn, [party.id]) if before is not None else []
    pending = on_party(party, before, category, held, actor)
    return pending.outcome(found(conn, pending.wants()))


def for_link(
    conn: sqlite3.Connection, rel: Relationship, parties: Mapping[str, Party], actor: Actor
) -> Outcome:
    """What creating the relationship does to the runs of its ends (process_runs.on_link)."""
    wanted = [p.category_id for p in parties.values() if p.category_id]
    categories = records.categories(conn, wanted) if wanted else {}
    held = _open(conn, [rel.from_id, rel.to_id])
    pending = on_link(rel, parties, categories, held, actor)
    return pending.outcome(found(conn, pending.wants()))


def sweep(conn: sqlite3.Connection, actor: Actor) -> tuple[Outcome, list[Change]]:
    """Start the runs of the dates reached today that have not started (process_dates):
    per DATE_REACHED process, a range of its attribute's index in its category."""
    reached: list[process_dates.Reached] = []
    for watched in process_dates.watched(records.categories(conn, None).values(), utcnow()):
        path = sqlite_path(watched.field)
        rows = conn.execute(
            f"SELECT id, {path} FROM parties WHERE category_id = ? AND archived_at IS NULL "
            f"AND {path} <= ?",
            (watched.category.id, watched.cutoff),
        )
        reached += [process_dates.Reached(i, watched, date) for i, date in rows]
    firsts = [r.first_step_id() for r in reached]
    started = {
        i
        for (i,) in conn.execute(
            f"SELECT id FROM process_steps WHERE id {records.IN_LIST}",
            (records.bound_list(firsts),),
        )
    }
    fresh = process_dates.fresh(reached, started)
    parties = records.parties_by_id(conn, {r.party_id for r in fresh}) if fresh else {}
    pending = process_dates.pending(fresh, parties)
    outcome = pending.outcome(found(conn, pending.wants()))
    return outcome, write(conn, outcome, actor)


def write(conn: sqlite3.Connection, outcome: Outcome, actor: Actor) -> list[Change]:
    """Store the steps opened and closed; their history entries, to append."""
    conn.executemany(
        "INSERT INTO process_steps (id, party_id, category_id, assignee_id, due_at, done_at, "
        "body) VALUES (?, ?, ?, ?, ?, NULL, ?)",
        [
            (s.id, s.party_id, s.category_id, s.assignee_id, format_instant(s.due_at), encode(s))
            for s in outcome.opened
        ],
    )
    conn.executemany(
        "UPDATE process_steps SET done_at = ?, body = ? WHERE id = ?",
        [(_instant(s.done_at), encode(s), s.id) for s in outcome.closed],
    )
    return outcome.entries(actor, utcnow())


def _instant(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def _open(conn: sqlite3.Connection, party_ids: Sequence[str]) -> list[RunStep]:
    held = steps(conn, party_ids, True)
    return [s for i in party_ids for s in held.get(i, [])]


def worklist(conn: sqlite3.Connection, query: WorklistQuery, inside: Reach) -> WorklistPage:
    """A page of the assignee's open steps by (due, id), of parties the reader may see:
    a range of the worklist index."""
    clauses = ["assignee_id = :assignee", "done_at IS NULL", inside.test("party_id")]
    params: dict[str, object] = {
        **inside.params,
        "assignee": query.assignee_id,
        "limit": query.page.first + 1,
    }
    if query.category_ids:
        clauses.append("category_id IN (SELECT value FROM json_each(:categories))")
        params["categories"] = records.bound_list(query.category_ids)
    if query.due_before is not None:
        clauses.append("due_at < :due_before")
        params["due_before"] = format_instant(query.due_before)
    after = query.after()
    if after is not None:
        clauses.append("(due_at, id) > (:after_due, :after_id)")
        params["after_due"], params["after_id"] = after
    rows = conn.execute(
        f"SELECT body FROM process_steps WHERE {' AND '.join(clauses)} "
        "ORDER BY due_at, id LIMIT :limit",
        params,
    )
    found = [decode(body) for (body,) in rows]
    return WorklistPage(found[: query.page.first], len(found) > query.page.first)


def next_due(conn: sqlite3.Connection) -> datetime | None:
    """When the next open step falls due that no process has told of yet."""
    (due,) = conn.execute(f"SELECT min(due_at) FROM process_steps WHERE {_UNTOLD}").fetchone()
    return None if due is None else parse_instant(due)


def claim_overdue(conn: sqlite3.Connection, now: datetime, first: int) -> list[RunStep]:
    """Mark up to `first` open steps due before `now` as told, soonest first, and return
    them: in the write transaction, so of processes sharing the file one claims each."""
    rows = conn.execute(
        f"UPDATE process_steps SET overdue_sent_at = :now WHERE id IN (SELECT id FROM "
        f"process_steps WHERE {_UNTOLD} AND due_at < :now ORDER BY due_at, id LIMIT :first) "
        "RETURNING body",
        {"now": format_instant(now), "first": first},
    )
    return sorted((decode(body) for (body,) in rows), key=lambda s: (s.due_at, s.id))
