"""Process definitions: what a category asks of someone when something happens to one of
its parties, held as a declarative document on the category (never code to evaluate).

The document is decoded by msgspec into the structs below, so a wrong key or type is
refused with the path of what is wrong; the checks msgspec cannot express (each name
used once, an attribute the category has, an assignee rule with what it needs) follow,
named the same way. A process is versioned with its category: changing the processes
writes the category's next version.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from typing import Any

import msgspec

from .errors import InvalidValue, LimitExceeded
from .model import ActivityType, FieldDef, FieldType, LegalForm, RelType

MAX_PROCESSES = 20  # of one category
MAX_STEPS = 20  # of one process
MAX_DUE_DAYS = 3_650
MAX_TITLE = 200
MAX_TAG = 64
MAX_PARENT_CATEGORIES = 20
ID = re.compile(r"[a-z][a-z0-9-]{0,63}")  # readable in a worklist and in FAILED_PRECONDITION
_WHERE = re.compile(r" - at `\$(?P<path>[^`]*)`$")


class TriggerKind(enum.Enum):
    ENTERED = "ENTERED"  # the party is created in the category or moved into it
    ACTIVITY_RECORDED = "ACTIVITY_RECORDED"  # an activity of the given types about it
    RELATIONSHIP_CREATED = "RELATIONSHIP_CREATED"  # an edge of the given types at one end
    DATE_REACHED = "DATE_REACHED"  # a date attribute, plus an offset, reached (a sweep)


class End(enum.Enum):
    """Which end of a relationship the party of the category is."""

    FROM = "FROM"
    TO = "TO"


class AssigneeRule(enum.Enum):
    RESPONSIBLE = "RESPONSIBLE"  # the responsible user at the party or nearest above it
    USER = "USER"  # a named user
    ROLE = "ROLE"  # the holder of a role whose grant's scope is nearest the party


class _Struct(msgspec.Struct, frozen=True, forbid_unknown_fields=True, rename="camel"):
    pass


class Trigger(_Struct, frozen=True, omit_defaults=True):
    """When a run starts; shown with the keys of its kind alone."""

    on: TriggerKind
    activity_types: tuple[ActivityType, ...] = ()  # ACTIVITY_RECORDED
    relationship_types: tuple[RelType, ...] = ()  # RELATIONSHIP_CREATED, with `end`
    end: End | None = None
    attribute: str | None = None  # DATE_REACHED: a DATE field of the category
    offset_days: int = 0  # DATE_REACHED: days after the date (before it when negative)


class AttributeCondition(_Struct, frozen=True):
    """The party holds the field (exists true), lacks it (false), or holds `equals`."""

    field: str
    equals: Any = None
    exists: bool | None = None


class Conditions(_Struct, frozen=True):
    """All must hold for a run to start; empty lists hold always."""

    legal_forms: tuple[LegalForm, ...] = ()
    attributes: tuple[AttributeCondition, ...] = ()
    # a PART_OF or MEMBER_OF parent of the party, as of the write, is in one of these
    parent_categories: tuple[str, ...] = ()


class Requirement(_Struct, frozen=True):
    """What closes a step: an activity of the type (with the tag in its summary, when one
    is given) recorded about the party, the attribute set (to `equals`, or to any value
    when it is null), or a relationship of the type (with the role, at the end, when
    given) created with the party at one end; any one of them closes it."""

    activity_type: ActivityType | None = None
    tag: str | None = None
    attribute: str | None = None
    equals: Any = None
    relationship_type: RelType | None = None
    end: End | None = None  # None: the party at either end
    role: str | None = None  # the relationship's role, when given


class Assignee(_Struct, frozen=True):
    rule: AssigneeRule
    user_id: str | None = None
    role: str | None = None


class Step(_Struct, frozen=True):
    id: str
    title: str
    due_days: int
    satisfied_by: Requirement
    assignee: Assignee
    blocks: tuple[ActivityType, ...] = ()  # not recorded for the party while it is open


class Process(_Struct, frozen=True):
    id: str
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    conditions: Conditions = Conditions()


def decoded(document: Any) -> tuple[Process, ...]:
    """The processes a JSON document (a list of process objects) describes; a key or
    value that does not fit is an InvalidValue naming its path under `processes`."""
    if not isinstance(document, list):
        raise InvalidValue("processes", str(document)[:40], "must be a list of processes")
    if len(document) > MAX_PROCESSES:
        raise LimitExceeded(f"a category may have at most {MAX_PROCESSES} processes")
    try:
        return msgspec.convert(document, tuple[Process, ...], strict=True)
    except msgspec.ValidationError as error:
        text = str(error)
        found = _WHERE.search(text)
        path = found["path"] if found else ""
        reason = text[: found.start()] if found else text
        raise InvalidValue(f"processes{path}", "", reason) from None


def encoded(processes: Sequence[Process]) -> list[Any]:
    """The document as GraphQL shows it and history entries record it."""
    return msgspec.to_builtins(processes)  # type: ignore[no-any-return]


def checked(processes: tuple[Process, ...], fields: Sequence[FieldDef]) -> tuple[Process, ...]:
    """The processes if every name is used once and every reference holds, else an
    InvalidValue naming the first that does not."""
    known = {f.name for f in fields}
    _unique("processes", [p.id for p in processes])
    for i, process in enumerate(processes):
        at = f"processes[{i}]"
        _name(f"{at}.id", process.id)
        _title(f"{at}.name", process.name)
        _trigger(f"{at}.trigger", process.trigger, fields)
        if len(process.conditions.parent_categories) > MAX_PARENT_CATEGORIES:
            raise InvalidValue(
                f"{at}.conditions.parentCategories", "", f"at most {MAX_PARENT_CATEGORIES}"
            )
        for j, condition in enumerate(process.conditions.attributes):
            _field(f"{at}.conditions.attributes[{j}].field", condition.field, known)
            if (condition.equals is None) == (condition.exists is None):
                raise InvalidValue(
                    f"{at}.conditions.attributes[{j}]", condition.field, "needs equals or exists"
                )
        if not process.steps or len(process.steps) > MAX_STEPS:
            raise InvalidValue(f"{at}.steps", "", f"must hold 1 to {MAX_STEPS} steps")
        _unique(f"{at}.steps", [s.id for s in process.steps])
        for j, step in enumerate(process.steps):
            _step(f"{at}.steps[{j}]", step, known)
    return processes


# what each trigger kind needs, by key: a key given to another kind is refused
_TRIGGER_KEYS = {
    TriggerKind.ENTERED: (),
    TriggerKind.ACTIVITY_RECORDED: ("activityTypes",),
    TriggerKind.RELATIONSHIP_CREATED: ("relationshipTypes", "end"),
    TriggerKind.DATE_REACHED: ("attribute",),
}


def _trigger(at: str, trigger: Trigger, fields: Sequence[FieldDef]) -> None:
    given = {
        "activityTypes": bool(trigger.activity_types),
        "relationshipTypes": bool(trigger.relationship_types),
        "end": trigger.end is not None,
        "attribute": trigger.attribute is not None,
        "offsetDays": trigger.offset_days != 0,
    }
    wanted = _TRIGGER_KEYS[trigger.on]
    allowed = (*wanted, "offsetDays") if trigger.on is TriggerKind.DATE_REACHED else wanted
    for key, held in given.items():
        if held and key not in allowed:
            raise InvalidValue(f"{at}.{key}", "", f"is not a key of {trigger.on.value}")
        if not held and key in wanted:
            raise InvalidValue(f"{at}.{key}", "", f"is needed by {trigger.on.value}")
    if not -MAX_DUE_DAYS <= trigger.offset_days <= MAX_DUE_DAYS:
        raise InvalidValue(
            f"{at}.offsetDays", str(trigger.offset_days), f"must be within ±{MAX_DUE_DAYS}"
        )
    if trigger.attribute is not None:
        dates = {f.name for f in fields if f.type is FieldType.DATE}
        if trigger.attribute not in dates:
            raise InvalidValue(
                f"{at}.attribute", trigger.attribute, "is not a DATE field of the category"
            )


def check_references(
    processes: Sequence[Process], category_ids: Collection[str], roles: Collection[str]
) -> None:
    """Refuse a parent category or a role that does not exist, naming its path: what
    only the store knows, read in the category write's transaction."""
    for i, process in enumerate(processes):
        at = f"processes[{i}]"
        for j, parent in enumerate(process.conditions.parent_categories):
            if parent not in category_ids:
                raise InvalidValue(
                    f"{at}.conditions.parentCategories[{j}]", parent, "is not a category"
                )
        for j, step in enumerate(process.steps):
            role = step.assignee.role
            if role is not None and role not in roles:
                raise InvalidValue(f"{at}.steps[{j}].assignee.role", role, "is not a role")


def _step(at: str, step: Step, known: set[str]) -> None:
    _name(f"{at}.id", step.id)
    _title(f"{at}.title", step.title)
    if not 0 <= step.due_days <= MAX_DUE_DAYS:
        raise InvalidValue(f"{at}.dueDays", str(step.due_days), f"must be 0 to {MAX_DUE_DAYS}")
    need = step.satisfied_by
    if need.activity_type is None and need.attribute is None and need.relationship_type is None:
        raise InvalidValue(
            f"{at}.satisfiedBy", "", "needs an activityType, an attribute or a relationshipType"
        )
    if need.relationship_type is None and (need.end is not None or need.role is not None):
        key = "end" if need.end is not None else "role"
        raise InvalidValue(f"{at}.satisfiedBy.{key}", "", "needs a relationshipType")
    if need.role is not None and not 0 < len(need.role) <= MAX_TAG:
        raise InvalidValue(f"{at}.satisfiedBy.role", need.role, f"must hold 1 to {MAX_TAG} chars")
    if need.tag is not None and (need.activity_type is None or not 0 < len(need.tag) <= MAX_TAG):
        raise InvalidValue(
            f"{at}.satisfiedBy.tag", need.tag, f"needs an activityType and 1 to {MAX_TAG} chars"
        )
    if need.attribute is not None:
        _field(f"{at}.satisfiedBy.attribute", need.attribute, known)
    rule = step.assignee
    if (rule.rule is AssigneeRule.USER) != bool(rule.user_id):
        raise InvalidValue(f"{at}.assignee.userId", rule.user_id or "", "is given with USER alone")
    if (rule.rule is AssigneeRule.ROLE) != bool(rule.role):
        raise InvalidValue(f"{at}.assignee.role", rule.role or "", "is given with ROLE alone")


def _name(at: str, value: str) -> None:
    if not ID.fullmatch(value):
        raise InvalidValue(at, value, "must be 1-64 lower-case letters, digits or '-'")


def _title(at: str, value: str) -> None:
    if not value.strip() or len(value) > MAX_TITLE:
        raise InvalidValue(at, value, f"must hold 1 to {MAX_TITLE} characters")


def _unique(at: str, names: list[str]) -> None:
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise InvalidValue(f"{at}.id", twice, "is used twice")


def _field(at: str, name: str, known: set[str]) -> None:
    if name not in known:
        raise InvalidValue(at, name, "is not one of the category's fields")
