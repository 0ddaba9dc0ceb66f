"""What a merge re-points besides edges and subjects, planned the same for every store:
the people planned work names (assignees, attendees) and the parties deals name
(organization, owner, contacts). They name the survivor afterwards, each once (the
first answer an attendee gave is kept), so a merged person's agenda and deals are the
survivor's; each rewritten record is one version more.

Each merged party's MERGED entry keeps what it re-pointed (`planned`, `deals`, before and
after), and unmerging it puts back what is still as the merge left it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import schedules
from .history import Change, FieldChange
from .model import Activity, Attendee, Response
from .opportunities import Opportunity

Live = Callable[[str], str]  # a party id as it is to be named: the survivor for one merged


@dataclass(frozen=True)
class Renamed:
    """Planned work and deals, each as stored and as re-pointed."""

    planned: tuple[tuple[Activity, Activity], ...] = ()
    deals: tuple[tuple[Opportunity, Opportunity], ...] = ()

    def names(self, party_id: str) -> Renamed:
        """Those whose stored version names the party."""
        return Renamed(
            tuple(p for p in self.planned if party_id in schedules.references(p[0])),
            tuple(d for d in self.deals if party_id in d[0].references()),
        )


def _planned(activity: Activity, to: Live) -> Activity:
    schedule = activity.schedule
    if schedule is None:
        return activity
    attendees: dict[str, Attendee] = {}
    for attendee in schedule.attendees:
        attendees.setdefault(
            to(attendee.party_id), replace(attendee, party_id=to(attendee.party_id))
        )
    assignees = tuple(dict.fromkeys(to(a) for a in schedule.assignee_ids))
    return replace(
        activity,
        schedule=replace(schedule, assignee_ids=assignees, attendees=tuple(attendees.values())),
    )


def _deal(deal: Opportunity, to: Live) -> Opportunity:
    return replace(
        deal,
        organization_id=to(deal.organization_id),
        owner_id=to(deal.owner_id),
        contact_ids=tuple(dict.fromkeys(to(c) for c in deal.contact_ids)),
    )


def renamed(
    planned: Iterable[Activity], deals: Iterable[Opportunity], to: Live, at: datetime
) -> Renamed:
    """Those of `planned` and `deals` that name someone `to` renames, re-pointed."""
    moved_planned = []
    for activity in planned:
        after = _planned(activity, to)
        if after != activity:
            moved_planned.append((activity, replace(after, version=activity.version + 1)))
    moved_deals = []
    for deal in deals:
        changed = _deal(deal, to)
        if changed != deal:
            moved_deals.append((deal, _versioned(deal, changed, at)))
    return Renamed(tuple(moved_planned), tuple(moved_deals))


def _versioned(before: Opportunity, after: Opportunity, at: datetime) -> Opportunity:
    return replace(after, version=before.version + 1, updated_at=max(at, before.updated_at))


def _planned_json(activity: Activity) -> dict[str, Any]:
    schedule = activity.schedule
    assert schedule is not None  # only planned work is re-pointed
    return {
        "id": activity.id,
        "assigneeIds": list(schedule.assignee_ids),
        "attendees": [[a.party_id, a.response.value] for a in schedule.attendees],
    }


def _deal_json(deal: Opportunity) -> dict[str, Any]:
    return {
        "id": deal.id,
        "organizationId": deal.organization_id,
        "ownerId": deal.owner_id,
        "contactIds": list(deal.contact_ids),
    }


def recorded(entry: Change, done: Renamed) -> Change:
    """The entry with what was re-pointed, before and after, and naming those records."""
    fields = (
        FieldChange(
            "planned",
            [_planned_json(b) for b, _ in done.planned],
            [_planned_json(a) for _, a in done.planned],
        ),
        FieldChange(
            "deals", [_deal_json(b) for b, _ in done.deals], [_deal_json(a) for _, a in done.deals]
        ),
    )
    ids = [*(b.id for b, _ in done.planned), *(b.id for b, _ in done.deals)]
    return replace(entry, fields=(*entry.fields, *fields), mentions=(*entry.mentions, *ids))


def ids_of(record: Mapping[str, tuple[Any, Any]]) -> tuple[list[str], list[str]]:
    """The planned work and deals a merge entry re-pointed (none for older entries)."""
    planned, deals = record.get("planned", ([], [])), record.get("deals", ([], []))
    return [p["id"] for p in planned[0]], [d["id"] for d in deals[0]]


def _back(was: dict[str, Any], left: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """Each field as it was before the merge where it is still as the merge left it, else
    as it is now (changed since: it stays)."""
    return {k: was[k] if now[k] == left[k] else now[k] for k in now}


def restored(
    record: Mapping[str, tuple[Any, Any]],
    planned: Mapping[str, Activity],
    deals: Mapping[str, Opportunity],
    live: Live,
    at: datetime,
) -> Renamed:
    """Unmerging: each people field the merge re-pointed and nobody changed since names
    again whom it named before, as `live` names them now."""
    back_planned = []
    for was, left in zip(*record.get("planned", ([], [])), strict=True):
        now = planned.get(was["id"])
        if now is None or now.schedule is None:
            continue
        back = _back(was, left, _planned_json(now))
        attendees = tuple(Attendee(p, Response(r)) for p, r in back["attendees"])
        schedule = replace(
            now.schedule, assignee_ids=tuple(back["assigneeIds"]), attendees=attendees
        )
        then = _planned(replace(now, schedule=schedule), live)
        if then != now:
            back_planned.append((now, replace(then, version=now.version + 1)))
    back_deals = []
    for was, left in zip(*record.get("deals", ([], [])), strict=True):
        current = deals.get(was["id"])
        if current is None:
            continue
        back = _back(was, left, _deal_json(current))
        then_deal = _deal(
            replace(
                current,
                organization_id=back["organizationId"],
                owner_id=back["ownerId"],
                contact_ids=tuple(back["contactIds"]),
            ),
            live,
        )
        if then_deal != current:
            back_deals.append((current, _versioned(current, then_deal, at)))
    return Renamed(tuple(back_planned), tuple(back_deals))


def merged_into(survivor_id: str, merged_ids: Sequence[str]) -> Live:
    """How a merge names a party: the survivor for each merged one."""
    gone = set(merged_ids)
    return lambda party_id: survivor_id if party_id in gone else party_id


def unmerged(party_id: str, survivors: Mapping[str, str]) -> Live:
    """How unmerging names a party: itself again, another still merged as its survivor."""
    return lambda other: other if other == party_id else survivors.get(other, other)


def with_people(
    entries: Sequence[Change], merged_ids: Sequence[str], done: Renamed
) -> list[Change]:
    """A merge's entries (the survivor's, then one per merged party) with what each merged
    party's part re-pointed."""
    survivor, *each = entries
    return [survivor, *(recorded(e, done.names(p)) for e, p in zip(each, merged_ids, strict=True))]


def named(record: Mapping[str, tuple[Any, Any]]) -> set[str]:
    """The parties the re-pointed records named before the merge."""
    planned, deals = record.get("planned", ([], [])), record.get("deals", ([], []))
    people = {
        p for was in planned[0] for p in (*was["assigneeIds"], *(a[0] for a in was["attendees"]))
    }
    return people | {
        p for was in deals[0] for p in (was["organizationId"], was["ownerId"], *was["contactIds"])
    }
