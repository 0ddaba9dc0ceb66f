"""Categories written through the API: what a new version must hold, versioned like
parties (a stale expectedVersion is a CONFLICT), and the history entry of each write.

A change never rewrites the parties filed under the category: they keep what they
hold, and `violations` (attributes.py) lists those that no longer fit it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from . import attributes, processes
from .errors import BadUserInput, Conflict, InvalidValue, NotFound
from .history import Actor, Change, ChangeKind, FieldChange, about_category
from .model import Category
from .times import format_instant

ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")  # readable and stable: commercial-client
MAX_NAME = 200
MAX_DOCUMENTS = 50


def checked(category: Category) -> Category:
    """The category as stored: names trimmed, fields and documents checked."""
    if not ID.fullmatch(category.id):
        raise InvalidValue(
            "id", category.id, "must be 2-64 lower-case letters, digits or '-', first no '-'"
        )
    name = category.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue("name", category.name, f"must hold 1 to {MAX_NAME} characters")
    if len(category.documents) > MAX_DOCUMENTS:
        raise BadUserInput(f"a category may require at most {MAX_DOCUMENTS} documents")
    documents = tuple(replace(d, name=d.name.strip()) for d in category.documents)
    bad = next((i for i, d in enumerate(documents) if not d.name or len(d.name) > MAX_NAME), None)
    if bad is not None:
        raise InvalidValue(
            f"documents[{bad}].name", documents[bad].name, f"must hold 1 to {MAX_NAME} characters"
        )
    fields = attributes.check_fields(category.fields)
    return replace(
        category,
        name=name,
        description=category.description.strip(),
        fields=fields,
        documents=documents,
        processes=processes.checked(category.processes, fields),
    )


def created(category: Category, existing: Category | None) -> Category:
    """A new category, version 1; an id taken is a CONFLICT."""
    if existing is not None:
        raise Conflict(f"category {category.id} already exists")
    return replace(checked(category), version=1, archived_at=None)


def updated(
    current: Category | None,
    category_id: str,
    change: Callable[[Category], Category],
    expected_version: int | None,
) -> Category:
    """The next version of a category, `change` applied, or the category as it is when
    nothing changes."""
    stored = _current(current, category_id, expected_version)
    wanted = change(stored)
    following = replace(checked(wanted), version=stored.version, archived_at=stored.archived_at)
    if following == stored:
        return stored
    return replace(following, version=stored.version + 1)


def archived(current: Category | None, category_id: str, at: datetime) -> Category:
    """The category archived: no party may enter it since; the ones in it stay."""
    stored = _current(current, category_id, None)
    if stored.archived_at is not None:
        return stored
    return replace(stored, archived_at=at, version=stored.version + 1)


def _current(current: Category | None, category_id: str, expected_version: int | None) -> Category:
    if current is None:
        raise NotFound(f"category {category_id} does not exist")
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            f"category {category_id} is at version {current.version}, not {expected_version}"
        )
    return current


def planned(
    stored: Mapping[str, Category],
    category_id: str,
    make: Callable[[Category | None], Category],
    actor: Actor,
    at: datetime,
    roles: Collection[str],
) -> tuple[Category, Change | None]:
    """What a store writes for a category write, from every stored category and role
    name: the category and its history entry (None: nothing to write)."""
    current = stored.get(category_id)
    written = make(current)
    entry = change(current, written, actor, at)
    if entry is not None:
        check_name(written, stored)
        processes.check_references(written.processes, {*stored, written.id}, roles)
    return written, entry


def check_name(written: Category, stored: Mapping[str, Category]) -> None:
    """Two categories never share a name (case aside): a list of them would not tell them
    apart."""
    key = written.name.casefold()
    other = next(
        (c for c in stored.values() if c.id != written.id and c.name.casefold() == key), None
    )
    if other is not None:
        raise Conflict(f"category {other.id} is already called {other.name!r}")


def fields_of(category: Category) -> dict[str, Any]:
    """What a category's history entries show of it, as JSON values under GraphQL names."""
    return {
        "name": category.name,
        "description": category.description,
        "kinds": [k.value for k in category.kinds],
        "legalForms": [f.value for f in category.legal_forms],
        "levels": [str(u) for u in category.unit_types],
        "anyLevelOrder": category.any_level_order,
        "fields": [
            {
                "name": f.name,
                "type": f.type.value,
                "label": f.label,
                "required": f.required,
                "default": f.default,
                "options": list(f.options),
            }
            for f in category.fields
        ],
        "documents": [
            {"name": d.name, "legalForms": [f.value for f in d.legal_forms]}
            for d in category.documents
        ],
        "processes": processes.encoded(category.processes),
        "archivedAt": None
        if category.archived_at is None
        else format_instant(category.archived_at),
    }


def change(before: Category | None, after: Category, actor: Actor, at: datetime) -> Change | None:
    """The history entry of a category write, with each field it changed; None when it
    changed nothing."""
    if before == after:
        return None
    old = fields_of(before) if before is not None else {}
    new = fields_of(after)
    changed = [FieldChange(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]
    if before is None:
        kind = ChangeKind.CATEGORY_CREATED
    elif after.archived_at is not None and before.archived_at is None:
        kind = ChangeKind.CATEGORY_ARCHIVED
    else:
        kind = ChangeKind.CATEGORY_UPDATED
    return about_category(actor, kind, after.id, changed, at)
