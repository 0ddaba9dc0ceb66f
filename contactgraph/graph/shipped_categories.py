"""The categories every new graph starts with, and the processes they ship.

The processes are data (shipped_processes.json), decoded as a definition sent through
the API is: a business changes or removes them with updateCategory. A graph gets them
when it is made; a category that already exists is never overwritten at start."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources

from .model import Category, LegalForm, UnitType
from .processes import decoded

_GIVEN: tuple[Category, ...] = (
    Category(
        "private-client",
        "Private client",
        "A natural person buying for private purposes.",
        (LegalForm.NATURAL_PERSON,),
    ),
    Category(
        "commercial-client",
        "Commercial client",
        "A business customer, invoiced with fiscal data.",
        (LegalForm.LEGAL_PERSON, LegalForm.NATURAL_PERSON),
        (UnitType.COMPANY, UnitType.BRANCH, UnitType.DEPARTMENT, UnitType.TEAM, UnitType.POSITION),
    ),
    Category(
        "association",
        "Association",
        "A club or non-profit association.",
        (LegalForm.ASSOCIATION,),
    ),
    Category(
        "umbrella-organization",
        "Umbrella organization",
        "An organization whose members are associations.",
        (LegalForm.ASSOCIATION, LegalForm.LEGAL_PERSON),
    ),
    Category(
        "owners-association",
        "Owners' association",
        "The owners of a building, acting together.",
        (LegalForm.ASSOCIATION,),
    ),
    Category(
        "community-of-heirs",
        "Community of heirs",
        "The heirs of a deceased person, jointly holding the estate.",
        (LegalForm.ASSOCIATION,),
    ),
    Category(
        "home-organization",
        "Home organization",
        "The organization running this contactgraph, with its users.",
        (LegalForm.LEGAL_PERSON,),
        (UnitType.COMPANY, UnitType.BRANCH, UnitType.DEPARTMENT, UnitType.TEAM, UnitType.POSITION),
    ),
)


def _shipped() -> dict[str, object]:
    text = resources.files(__package__).joinpath("shipped_processes.json").read_text("utf-8")
    shipped: dict[str, object] = json.loads(text)["categories"]
    return shipped


_PROCESSES = _shipped()
DEFAULT_CATEGORIES: tuple[Category, ...] = tuple(
    replace(c, processes=decoded(_PROCESSES[c.id])) if c.id in _PROCESSES else c for c in _GIVEN
)
