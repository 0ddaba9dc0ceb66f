"""GraphQL of categories: the rules, own fields and required documents of a category, the
typed attribute values a party holds for those fields, and the inputs that write both."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.scalars import JSON

from ..graph import attributes, model, processes
from ..graph.cursors import decode_cursor, encode_cursor
from ..graph.model import FieldType as DomainFieldType
from ..resolvers.context import ContextInfo
from .common_arguments import After, First
from .enums import LegalForm, PartyKind, UnitType, described_enum
from .history import Change, node_history
from .pages import Connection, Edge, PageInfo

if TYPE_CHECKING:
    from .types import Party

FieldType = described_enum(
    DomainFieldType,
    "What a category's own field holds; it decides which member of AttributeValue is set.",
    {
        "TEXT": "Text, up to 2,000 characters (AttributeValue.text).",
        "NUMBER": "A number (AttributeValue.number).",
        "DECIMAL": "An exact decimal number, such as an amount (AttributeValue.decimal).",
        "BOOLEAN": "True or false (AttributeValue.boolean).",
        "DATE": "A calendar date (AttributeValue.date).",
        "ONE_OF": "One of the field's options (AttributeValue.text).",
        "MANY_OF": "Some of the field's options (AttributeValue.options).",
        "PARTY": "Another party, by id (AttributeValue.party).",
        "URL": "An http or https address (AttributeValue.text).",
        "EMAIL": "An e-mail address, normalised (AttributeValue.text).",
        "PHONE": "A phone number, stored in E.164 (AttributeValue.text).",
    },
)
_UNIT_TYPES = frozenset(model.UnitType)
PROCESSES_OUT = (
    "Its process definitions as a JSON document (docs/processes.md): a list of {id, name, "
    "trigger, conditions, steps}; they are part of the category's version."
)
PROCESSES_IN = (
    f"Its process definitions as a JSON document (docs/processes.md), at most "
    f"{processes.MAX_PROCESSES}, each of at most {processes.MAX_STEPS} steps; a key or "
    "value that does not fit is refused naming its path."
)
VIOLATIONS_SCAN = 2_000  # parties of a category one violations page examines at most


@strawberry.type(description="A field a category adds to its parties.")
class CategoryField:
    name: str = strawberry.field(description="Its key in Party.attributes: a plain word.")
    type: FieldType = strawberry.field(description="What it holds.")  # type: ignore[valid-type]
    label: str = strawberry.field(description="For display; may be empty.")
    required: bool = strawberry.field(
        description="Every party of the category holds a value (its default when given)."
    )
    default: JSON | None = strawberry.field(
        description="The value a party entering the category gets when it brings none."
    )
    options: list[str] = strawberry.field(description="What ONE_OF and MANY_OF choose from.")


@strawberry.type(
    description="A document the category's parties need. Stored and shown here; checking "
    "that a party has it comes with processes."
)
class DocumentRule:
    name: str = strawberry.field(description="What the document is.")
    legal_forms: list[LegalForm] = strawberry.field(
        description="The legal forms whose parties need it; empty: every one."
    )


@strawberry.type(description="A party of a category that no longer meets its rules, and why.")
class Violation:
    reasons: list[str] = strawberry.field(description="Each rule it breaks, in words.")
    party_id: strawberry.Private[str]

    @strawberry.field(description="The party.")
    async def party(self, info: ContextInfo) -> Annotated[Party, strawberry.lazy(".types")] | None:
        from .types import party_of

        found = await info.context.loaders.parties.load(self.party_id)
        return None if found is None else party_of(found)


@strawberry.type(
    description="A classification of parties; its rules and fields are checked on every "
    "write of a party in it. Changing a category rewrites no party: `violations` lists "
    "those that no longer fit."
)
class Category:
    id: strawberry.ID = strawberry.field(
        description="A readable, stable key such as commercial-client."
    )
    name: str = strawberry.field(description="For display.")
    description: str = strawberry.field(description="What the category is for; may be empty.")
    kinds: list[PartyKind] = strawberry.field(description="The party kinds it files; empty: any.")
    legal_forms: list[LegalForm] = strawberry.field(
        description="The legal forms a party of this category may have; empty: any."
    )
    levels: list[strawberry.ID] = strawberry.field(
        description="The levels an organization of this category may have (ids); empty: any."
    )
    any_level_order: bool = strawberry.field(
        description="Its organizations may be PART_OF organizations of any level, not only "
        "of higher ones or their own."
    )
    fields: list[CategoryField] = strawberry.field(description="Its own fields, in order.")
    documents: list[DocumentRule] = strawberry.field(description="The documents it requires.")
    processes: JSON = strawberry.field(description=PROCESSES_OUT)
    version: int = strawberry.field(
        description="Starts at 1, one more on each change: give it as updateCategory's "
        "expectedVersion."
    )
    archived_at: datetime | None = strawberry.field(
        description="When it was archived: no party may enter it since; null while open."
    )

    @strawberry.field(
        description="The levels it allows that are among the levels there were before "
        "levels were data.",
        deprecation_reason="Levels are data now: read levels.",
    )
    def unit_types(self) -> list[UnitType]:  # type: ignore[valid-type]
        return [model.UnitType(u) for u in self.levels if u in _UNIT_TYPES]

    @classmethod
    def of(cls, category: model.Category) -> Category:
        return cls(
            id=strawberry.ID(category.id),
            name=category.name,
            description=category.description,
            kinds=list(category.kinds),
            legal_forms=list(category.legal_forms),
            levels=[strawberry.ID(u) for u in category.unit_types],
            any_level_order=category.any_level_order,
            fields=[
                CategoryField(
                    name=f.name,
                    type=f.type,
                    label=f.label,
                    required=f.required,
                    default=f.default,
                    options=list(f.options),
                )
                for f in category.fields
            ],
            documents=[
                DocumentRule(name=d.name, legal_forms=list(d.legal_forms))
                for d in category.documents
            ],
            processes=processes.encoded(category.processes),
            version=category.version,
            archived_at=category.archived_at,
        )

    @strawberry.field(
        description=f"The parties of the category (archived ones aside) that no longer meet "
        f"its rules, in id order, each with why. A page examines at most {VIOLATIONS_SCAN:,} "
        "parties: it may be short, even empty, and still have a next one."
    )
    async def violations(
        self, info: ContextInfo, first: First = None, after: After = None
    ) -> Connection[Violation]:
        context = info.context
        category = (await context.store.get_categories([self.id]))[self.id]
        page = context.page(first, after)
        where = model.PartyFilter(category_ids=(self.id,))
        last = decode_cursor(page.after, 1)[0] if page.after else None
        found: list[Edge[Violation]] = []
        scanned, more = 0, True
        while more and len(found) < page.first and scanned < VIOLATIONS_SCAN:
            cursor = encode_cursor(last) if last else None
            batch = await context.store.list_parties(where, model.Page(200, cursor), False)
            more = batch.has_next
            for i, party in enumerate(batch.parties):
                scanned, last = scanned + 1, party.id
                reasons = attributes.violations(party, category, context.store.default_region)
                if reasons:
                    violation = Violation(reasons=reasons, party_id=party.id)
                    found.append(Edge(cursor=encode_cursor(party.id), node=violation))
                if len(found) == page.first or scanned == VIOLATIONS_SCAN:
                    more = more or i < len(batch.parties) - 1
                    break
        # read on from the last party examined, which need not be one that violates
        end = encode_cursor(last) if last else None
        return Connection(edges=found, page_info=PageInfo(has_next_page=more, end_cursor=end))

    history: Connection[Change] = strawberry.field(
        resolver=node_history, description="Its changes, newest first (CATEGORY_* entries)."
    )


@strawberry.type(
    description="A party's value of one of its category's fields. Exactly the member its "
    "type names is set (text for TEXT, ONE_OF, URL, EMAIL and PHONE): no value comes as a "
    "string to parse."
)
class AttributeValue:
    field: str = strawberry.field(description="The field's name.")
    type: FieldType | None = strawberry.field(  # type: ignore[valid-type]
        description="The field's type; null when its category no longer has the field "
        "(see Category.violations), the value then in the member its JSON form fits."
    )
    text: str | None = strawberry.field(description="A TEXT, ONE_OF, URL, EMAIL or PHONE value.")
    number: float | None = strawberry.field(description="A NUMBER value.")
    decimal: Decimal | None = strawberry.field(description="A DECIMAL value, exact.")
    boolean: bool | None = strawberry.field(description="A BOOLEAN value.")
    date: date | None = strawberry.field(description="A DATE value.")
    options: list[str] | None = strawberry.field(description="A MANY_OF value's options.")
    party_id: strawberry.ID | None = strawberry.field(description="A PARTY value's id.")

    @strawberry.field(description="A PARTY value's party; null when you may not read it.")
    async def party(self, info: ContextInfo) -> Annotated[Party, strawberry.lazy(".types")] | None:
        if self.party_id is None:
            return None
        from .types import party_of

        found = await info.context.loaders.parties.load(self.party_id)
        return None if found is None else party_of(found)


def attribute_values(held: dict[str, Any], category: model.Category | None) -> list[AttributeValue]:
    """A party's attributes in its category's field order, then those it no longer has."""
    fields = {f.name: f for f in category.fields} if category is not None else {}
    names = [n for n in fields if n in held] + sorted(n for n in held if n not in fields)
    return [_typed(name, held[name], fields.get(name)) for name in names]


def _typed(name: str, raw: Any, field: model.FieldDef | None) -> AttributeValue:
    kind = field.type if field is not None else None
    value = AttributeValue(
        field=name,
        type=kind,
        text=None,
        number=None,
        decimal=None,
        boolean=None,
        date=None,
        options=None,
        party_id=None,
    )
    if kind is DomainFieldType.NUMBER or (
        kind is None and isinstance(raw, int | float) and not isinstance(raw, bool)
    ):
        value.number = raw
    elif kind is DomainFieldType.DECIMAL:
        value.decimal = Decimal(raw)
    elif isinstance(raw, bool):
        value.boolean = raw
    elif kind is DomainFieldType.DATE:
        value.date = date.fromisoformat(raw)
    elif isinstance(raw, list):
        value.options = [str(o) for o in raw]
    elif kind is DomainFieldType.PARTY:
        value.party_id = strawberry.ID(raw)
    else:
        value.text = str(raw)
    return value


@strawberry.input(description="A field of a category.")
class CategoryFieldInput:
    name: str = strawberry.field(
        description="Its key: 1 to 40 lower-case letters, digits or '_', first a letter."
    )
    type: FieldType = strawberry.field(description="What it holds.")  # type: ignore[valid-type]
    label: str = strawberry.field(default="", description="For display.")
    required: bool = strawberry.field(
        default=False, description="Every party of the category must hold a value."
    )
    default: JSON | None = strawberry.field(
        default=None, description="Given to a party entering the category without a value."
    )
    options: list[str] = strawberry.field(
        default_factory=list, description="ONE_OF and MANY_OF only: the choices, at least one."
    )

    def value(self) -> model.FieldDef:
        return model.FieldDef(
            self.name, self.type, self.label, self.required, self.default, tuple(self.options)
        )


@strawberry.input(description="A document a category's parties need.")
class DocumentRuleInput:
    name: str = strawberry.field(description="What the document is; not blank.")
    legal_forms: list[LegalForm] = strawberry.field(
        default_factory=list, description="The legal forms whose parties need it; empty: every one."
    )

    def value(self) -> model.DocumentRule:
        return model.DocumentRule(self.name, tuple(self.legal_forms))


ANY_ORDER = (
    "Its organizations may be PART_OF organizations of any level (default: only of a "
    "higher level or their own)."
)
FIELDS = f"Its own fields, at most {attributes.MAX_FIELDS}; values are checked on every write."


@strawberry.input(description="A new category.")
class CreateCategoryInput:
    id: strawberry.ID = strawberry.field(
        description="A readable, stable key: 2 to 64 lower-case letters, digits or '-'."
    )
    name: str = strawberry.field(description="For display; not blank.")
    description: str = strawberry.field(default="", description="What it is for.")
    kinds: list[PartyKind] = strawberry.field(
        default_factory=list, description="The party kinds it files; empty: any."
    )
    legal_forms: list[LegalForm] = strawberry.field(
        default_factory=list, description="The legal forms it allows; empty: any."
    )
    levels: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The levels it allows (ids); empty: any."
    )
    any_level_order: bool = strawberry.field(default=False, description=ANY_ORDER)
    fields: list[CategoryFieldInput] = strawberry.field(default_factory=list, description=FIELDS)
    documents: list[DocumentRuleInput] = strawberry.field(
        default_factory=list, description="The documents its parties need."
    )
    processes: JSON | None = strawberry.field(default=None, description=PROCESSES_IN)

    def value(self) -> model.Category:
        return model.Category(
            id=str(self.id),
            name=self.name,
            description=self.description,
            legal_forms=tuple(self.legal_forms),
            unit_types=tuple(str(u) for u in self.levels),
            any_level_order=self.any_level_order,
            kinds=tuple(self.kinds),
            fields=tuple(f.value() for f in self.fields),
            documents=tuple(d.value() for d in self.documents),
            processes=processes.decoded([] if self.processes is None else self.processes),
        )


@strawberry.input(description="What to change of a category; a field left out stays as it is.")
class UpdateCategoryInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="For display.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="What it is for."
    )
    kinds: list[PartyKind] | None = strawberry.field(
        default=strawberry.UNSET, description="The party kinds it files; replaces them."
    )
    legal_forms: list[LegalForm] | None = strawberry.field(
        default=strawberry.UNSET, description="The legal forms it allows; replaces them."
    )
    levels: list[strawberry.ID] | None = strawberry.field(
        default=strawberry.UNSET, description="The levels it allows (ids); replaces them."
    )
    any_level_order: bool | None = strawberry.field(default=strawberry.UNSET, description=ANY_ORDER)
    fields: list[CategoryFieldInput] | None = strawberry.field(
        default=strawberry.UNSET, description=f"{FIELDS} Replaces them all."
    )
    documents: list[DocumentRuleInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The documents its parties need; replaces them."
    )
    processes: JSON | None = strawberry.field(
        default=strawberry.UNSET, description=f"{PROCESSES_IN} Replaces them all."
    )

    def applied(self, current: model.Category) -> model.Category:
        """The category with the fields given; a null list clears it."""
        given = {k: v for k, v in vars(self).items() if v is not strawberry.UNSET}
        if "levels" in given:
            given["unit_types"] = tuple(str(u) for u in given.pop("levels") or ())
        if "any_level_order" in given:
            given["any_level_order"] = bool(given["any_level_order"])
        for key in ("kinds", "legal_forms"):
            if key in given:
                given[key] = tuple(given[key] or ())
        if "fields" in given:
            given["fields"] = tuple(f.value() for f in given["fields"] or ())
        if "documents" in given:
            given["documents"] = tuple(d.value() for d in given["documents"] or ())
        if "processes" in given:
            held = given["processes"]
            given["processes"] = processes.decoded([] if held is None else held)
        for key in ("name", "description"):
            if key in given and given[key] is None:
                given[key] = ""
        return model.Category(**{**vars(current), **given})
