"""Unmerging a party, planned the same for every store: what a merged party brought
comes back to it from its merge's history entry (merging.py writes it), as far as
nothing changed since; what changed since stays with the survivor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import externalids, history, rules
from .errors import BadUserInput
from .identity import Grant
from .merging import MAX_HOPS, Authors, Subjects, grant_json, grant_of, rel_json, rel_of
from .model import Party, Relationship


@dataclass(frozen=True)
class UnmergePlan:
    party: Party  # restored
    survivor_id: str
    edges: tuple[tuple[Relationship | None, Relationship], ...]  # (as now or None, restored)
    subjects: tuple[Subjects, ...]
    grants: tuple[tuple[Grant | None, Grant], ...]  # (as now or None, restored)
    authors: tuple[Authors, ...]
    tokens: tuple[str, ...]  # back to the restored user
    contacts: tuple[str, ...]  # users whose contact it is again


@dataclass(frozen=True)
class Current:
    """What a store reads for an unmerge: the present state of what the merge entry names."""

    edges: Mapping[str, Relationship]
    subjects: Mapping[str, tuple[str, ...]]
    grants: Mapping[str, Grant]
    authored: Mapping[str, tuple[str, str | None]]
    tokens: Mapping[str, str]  # token id: its user now
    contacts: Mapping[str, str | None]  # user id: its contact now
    # the other parties the entry names that are merged still: each one's survivor now
    survivors: Mapping[str, str]


def tombstone_entry(tombstone: Party, entries: Sequence[history.Change]) -> history.Change:
    """Of a party's MERGED entries, the one of the merge that made it this tombstone."""
    if tombstone.merged_into is not None:
        for entry in entries:
            if merge_record(entry).get("mergedInto", (None, None))[1] == tombstone.merged_into:
                return entry
    raise BadUserInput(f"party {tombstone.id} was not merged into another")


def named(entry: history.Change) -> set[str]:
    """The parties a merge entry's edges and activities name."""
    record = merge_record(entry)
    ends = {end for was in record["relationships"][0] for end in (was["fromId"], was["toId"])}
    return ends | {s for was in record["activities"][0] for s in was["subjectIds"]}


def survivors(merged_into: Mapping[str, str | None], party_id: str) -> dict[str, str]:
    """Each party merged still, and the party it stands for now: the end of its chain of
    merges (the party being restored ends a chain that reaches it)."""
    found: dict[str, str] = {}
    for start, target in merged_into.items():
        if start == party_id or target is None:
            continue
        for _ in range(MAX_HOPS):
            following = merged_into.get(target)
            if target == party_id or following is None:
                break
            target = following
        found[start] = target
    return found


def without_code(party: Party, claim: rules.Claim) -> Party:
    """The restored party without a code another party holds now (the survivor took it):
    a VAT number, tax code or external id is one party's, so the unmerge leaves it where
    it is."""
    if claim.kind == "ext":
        kept = (x for x in party.external_ids if externalids.token(x) != claim.key)
        return replace(party, external_ids=tuple(kept))
    if party.fiscal is None:
        return party
    field = "vat_number" if claim.kind == "vat" else "tax_code"
    return replace(party, fiscal=replace(party.fiscal, **{field: None}))


def merge_record(entry: history.Change) -> dict[str, tuple[Any, Any]]:
    return {f.field: (f.before, f.after) for f in entry.fields}


def unplan(tombstone: Party, entry: history.Change, now: Current, at: datetime) -> UnmergePlan:
    """Undo one merged party's part of a merge, from its merge entry, given the current
    state of the edges, activities and grants the entry names: what moved goes back to it
    unless it changed since (then it stays), what was removed comes back. The survivor
    keeps what was written to it after the merge and the fields it took."""
    if tombstone.merged_into is None:
        raise BadUserInput(f"party {tombstone.id} was not merged into another")
    record = merge_record(entry)
    restored = replace(
        tombstone,
        archived_at=None,
        merged_into=None,
        version=tombstone.version + 1,
        updated_at=rules.changed_at(tombstone, at),
    )

    def live(party_id: str) -> str:  # a party merged still is its survivor now
        return now.survivors.get(party_id, party_id) if party_id != tombstone.id else party_id

    survivor_id = tombstone.merged_into

    def merged(party_id: str) -> str:  # as it stands while this party is merged still
        return survivor_id if party_id == tombstone.id else live(party_id)

    back: list[tuple[Relationship | None, Relationship]] = []
    before_edges, after_edges = record["relationships"]
    for was, became in zip(before_edges, after_edges, strict=True):
        original, edge = rel_of(was), now.edges.get(was["id"])
        target = replace(original, from_id=live(original.from_id), to_id=live(original.to_id))
        if target.from_id == target.to_id:  # between it and one merged still: it stays gone
            continue
        # as the merge left it, or as unmerging another party of the merge gave it back
        partial = replace(original, from_id=merged(original.from_id), to_id=merged(original.to_id))
        left = rel_of(became) if isinstance(became, dict) else None
        if edge is None and left is None:  # removed, and not brought back since
            back.append((None, target))
        elif edge is not None and edge != target and edge in (left, partial):
            back.append((edge, target))
    renamed = []
    for was, became in zip(*record["activities"], strict=True):
        then = tuple(dict.fromkeys(live(s) for s in was["subjectIds"]))
        partly = tuple(dict.fromkeys(merged(s) for s in was["subjectIds"]))
        current = now.subjects.get(was["id"])
        if current in (tuple(became["subjectIds"]), partly) and current != then:
            renamed.append(Subjects(was["id"], current, then))
    regranted: list[tuple[Grant | None, Grant]] = []
    for was, became in zip(*record["grants"], strict=True):
        held = grant_of(was)
        now_grant = now.grants.get(held.id)
        if became is None and now_grant is None:
            regranted.append((None, held))
        elif became is not None and now_grant == grant_of(became):
            regranted.append((now_grant, held))
    authors = tuple(
        Authors(was["id"], (became["by"][0], became["by"][1]), (was["by"][0], was["by"][1]))
        for was, became in zip(*record["authored"], strict=True)
        if now.authored.get(was["id"]) == tuple(became["by"])
    )
    tokens = tuple(t for t in record["tokens"][0] if now.tokens.get(t) == survivor_id)
    users = record.get("contacts", ([], None))[0]
    contacts = tuple(u for u in users if now.contacts.get(u) == survivor_id)
    return UnmergePlan(
        restored,
        survivor_id,
        tuple(back),
        tuple(renamed),
        tuple(regranted),
        authors,
        tokens,
        contacts,
    )


def unmerge_entry(plan: UnmergePlan, tombstone: Party, actor: history.Actor) -> history.Change:
    more = [
        history.FieldChange(
            "relationships",
            [None if now is None else rel_json(now) for now, _ in plan.edges],
            [rel_json(back) for _, back in plan.edges],
        ),
        history.FieldChange(
            "activities",
            [{"id": s.activity_id, "subjectIds": list(s.before)} for s in plan.subjects],
            [{"id": s.activity_id, "subjectIds": list(s.after)} for s in plan.subjects],
        ),
        history.FieldChange(
            "grants",
            [None if now is None else grant_json(now) for now, _ in plan.grants],
            [grant_json(back) for _, back in plan.grants],
        ),
        history.FieldChange(
            "authored",
            [{"id": a.activity_id, "by": list(a.before)} for a in plan.authors],
            [{"id": a.activity_id, "by": list(a.after)} for a in plan.authors],
        ),
        history.FieldChange("tokens", None, list(plan.tokens)),
    ]
    kind = history.ChangeKind.UNMERGED
    touched = [
        *(back.id for _, back in plan.edges),
        *(s.activity_id for s in plan.subjects),
        *(a.activity_id for a in plan.authors),
    ]
    return history.changed(tombstone, plan.party, actor, kind, [plan.survivor_id], more, touched)
