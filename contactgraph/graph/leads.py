"""Lead conversion: a prospect becomes a client in one write. The party enters its new
category (whose rules the store then checks, as on any update) and is marked CONVERTED;
the store writes that, the deal it may open, and the history of both in one transaction,
so a refusal of either leaves nothing written."""

from __future__ import annotations

from datetime import datetime

from . import rules
from .errors import BadUserInput, Conflict
from .model import LeadStatus, Party, PartyKind


def converted(current: Party, category_id: str, at: datetime) -> Party:
    """The party in `category_id`, CONVERTED; a user is no lead, a converted lead is
    converted once."""
    if current.kind is PartyKind.USER:
        raise BadUserInput("a user is not a lead")
    if current.lead_status is LeadStatus.CONVERTED:
        raise Conflict(f"party {current.id} is converted already")
    changes = {"category_id": category_id, "lead_status": LeadStatus.CONVERTED}
    return rules.apply_changes(current, changes, at)
