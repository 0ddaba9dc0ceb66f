"""Making new records: the one place ids, timestamps and derived names are set."""

from dataclasses import replace
from datetime import datetime

from .ids import new_id
from .model import Party, PartyKind
from .rules import derived_display_name
from .times import utcnow


def new_party(
    kind: PartyKind,
    display_name: str | None = None,
    *,
    party_id: str | None = None,
    at: datetime | None = None,
    **values: object,
) -> Party:
    """A new party; without an explicit displayName it is derived from the names."""
    created = at or utcnow()
    party = Party(
        id=party_id or new_id(),
        kind=kind,
        display_name=display_name or "",
        created_at=created,
        updated_at=created,
        **values,  # type: ignore[arg-type]
    )
    if display_name is not None:
        return party
    return replace(party, display_name=derived_display_name(party))
