"""Activities linked to a sales opportunity.

The link is the activity's own field beside its subjects, not the deal as a subject:
party timelines keep what they hold, and the deal's timeline is one index range. So
that a deal's work also shows where its client's work does, an activity recorded or
planned for a deal naming none of the deal's parties (its organization or contacts)
gets the organization as a subject too. A closed deal (WON or LOST) takes what happened
(a recorded activity) but no more planned work.
"""

from __future__ import annotations

from dataclasses import replace

from .errors import BadUserInput, NotFound
from .model import Activity, ActivityStatus
from .opportunities import Opportunity, OpportunityStatus


def missing(opportunity_id: str) -> NotFound:
    """The one answer for a deal that is not there or not the viewer's to link: the same
    words either way, so that an id cannot be probed."""
    return NotFound(f"opportunity {opportunity_id} does not exist")


def linked(activity: Activity, deal: Opportunity | None, opportunity_id: str) -> Activity:
    """A new activity linked to the deal read for opportunity_id (None: not to be seen)."""
    planned = open_for(activity, deal, opportunity_id)
    if set(activity.subject_ids) & {planned.organization_id, *planned.contact_ids}:
        return replace(activity, opportunity_id=planned.id)
    subjects = (*activity.subject_ids, planned.organization_id)
    return replace(activity, opportunity_id=planned.id, subject_ids=subjects)


def open_for(activity: Activity, deal: Opportunity | None, opportunity_id: str) -> Opportunity:
    """The deal, when the activity may be linked to it: planned work only to an open one."""
    if deal is None:
        raise missing(opportunity_id)
    if activity.status is ActivityStatus.PLANNED and deal.status is not OpportunityStatus.OPEN:
        raise BadUserInput(
            f"opportunity {deal.id} is {deal.status.value}: a closed deal takes no planned work"
        )
    return deal
