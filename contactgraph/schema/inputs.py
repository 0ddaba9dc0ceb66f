"""GraphQL input objects and their translation into domain values."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ..graph import model
from ..graph.errors import BadUserInput
from .attribute_inputs import ATTRIBUTES, AttributeFilter, AttributeInput, attribute_changes
from .contact_data import LABEL
from .enums import ActivityType, LeadStatus, LegalForm, PartyKind, RelType, UnitType

CATEGORY = "The id of its category, whose rules it must meet."
EMAILS = "Its e-mail addresses."
PHONES = "Its phone numbers."
ADDRESSES = "Its postal addresses; the first one's country is where phone numbers are read."
FISCAL = "VAT number and tax code; writing them needs the FISCAL permission."
TAGS = "Free labels, to filter by."
EXTERNAL_IDS = (
    "Its ids in other systems (at most 20); one held by another party not archived is CONFLICT."
)
LEGAL_FORM = "How the law sees it."
UNIT_TYPE = "Its level in its tree, one of the levels there were before levels were data."
UNIT_TYPE_GONE = "Levels are data now: give level, a level's id (see the levels query)."
LEVEL = "Its level in its tree: a level's id (see the levels query)."


def level_of(level: str | None, unit_type: model.UnitType | None) -> str | None:
    """The level an input gives, by id or by the old unitType; not both."""
    if level is not None and unit_type is not None:
        raise BadUserInput("give level or unitType, not both")
    return str(level) if level is not None else unit_type


LINK_TYPE = "What the edge means; see RelType for which kinds of party each joins."
LINK_ROLE = "Free text: the job on EMPLOYS, the function on MEMBER_OF."
LINK_PROPERTIES = "A JSON object of your own details (size and depth are limited)."
SUMMARY = "One line, for lists; not blank."
BODY = (
    "The full text; it may hold tabs and line breaks and be long (the server's --max-text-length)."
)


@strawberry.input(
    description="Checked as an e-mail address (no DNS look-up) and stored "
    "normalised (the domain in lower case)."
)
class EmailInput:
    address: str = strawberry.field(description="The address; a malformed one is BAD_USER_INPUT.")
    label: str | None = strawberry.field(default=None, description=LABEL)


@strawberry.input(
    description="A phone number, in international form (+43 664 1234567) or "
    "as dialled in the party's country (its first address's, else fiscal.country, else the "
    "server's --default-region); checked, and stored as entered beside its E.164 form."
)
class PhoneInput:
    number: str = strawberry.field(
        description="The number; one that is not a valid number of its country is BAD_USER_INPUT."
    )
    label: str | None = strawberry.field(default=None, description=LABEL)


@strawberry.input(description="A postal address; every part is optional.")
class AddressInput:
    label: str | None = strawberry.field(default=None, description=LABEL)
    street: str | None = strawberry.field(default=None, description="Street and house number.")
    postal_code: str | None = strawberry.field(
        default=None, description="As the country writes it."
    )
    city: str | None = strawberry.field(default=None, description="The town or city.")
    region: str | None = strawberry.field(default=None, description="State, province or county.")
    country: str | None = strawberry.field(
        default=None,
        description="ISO 3166 (AT, AUT or Austria), stored as the alpha-2 code.",
    )


@strawberry.input(description="Checked by their country's rules and stored compact.")
class FiscalInput:
    vat_number: str | None = strawberry.field(
        default=None,
        description="With its country prefix (ATU13585627), or without it in the fiscal country.",
    )
    tax_code: str | None = strawberry.field(
        default=None, description="A national tax code of the fiscal country."
    )
    country: str | None = strawberry.field(
        default=None,
        description="Whose rules the tax code follows (ISO 3166); defaults to the party's "
        "country (its first address's, else the server's --default-region).",
    )


@strawberry.input(description="A party's id in another system.")
class ExternalIdInput:
    source: str = strawberry.field(
        description="A short name of the other system: 1-32 letters, digits, '.', '_' or '-'; "
        "stored in lower case."
    )
    key: str = strawberry.field(
        description="The party's id there: 1-200 printable characters, trimmed, compared exactly."
    )

    def value(self) -> model.ExternalId:
        return model.ExternalId(self.source, self.key)


def _value(target: type, source: object) -> object:
    """Copy an input object into the domain dataclass: the fields they share by name (the
    rest, such as a phone's E.164 form, the store derives)."""
    return target(
        **{f.name: getattr(source, f.name) for f in fields(target) if hasattr(source, f.name)}
    )


def contact_data(
    emails: list[EmailInput] | None,
    phones: list[PhoneInput] | None,
    addresses: list[AddressInput] | None,
    fiscal: FiscalInput | None,
) -> dict[str, object]:
    return {
        "emails": tuple(_value(model.Email, e) for e in emails or ()),
        "phones": tuple(_value(model.Phone, p) for p in phones or ()),
        "addresses": tuple(_value(model.Address, a) for a in addresses or ()),
        "fiscal": _value(model.Fiscal, fiscal) if fiscal else None,
    }


# edges a create may make with its party: enough to place a person or unit at once, few
# enough that one write stays small
MAX_NEW_LINKS = 50


@strawberry.input(
    description="An edge made with the new party in the same write: give its other end as "
    "fromId or as toId, not both; the new party is the end left out."
)
class NewLinkInput:
    type: RelType = strawberry.field(description=LINK_TYPE)
    from_id: strawberry.ID | None = strawberry.field(
        default=None, description="The existing party the edge starts at; the new party is its end."
    )
    to_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The existing party the edge points to; the new party is its start.",
    )
    role: str | None = strawberry.field(default=None, description=LINK_ROLE)
    since: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    properties: JSON | None = strawberry.field(default=None, description=LINK_PROPERTIES)


MAX_NEW_ACTIVITIES = 10


@strawberry.input(
    description="An activity recorded with the new party in the same write, by the viewer: "
    "the new party is its first subject."
)
class NewActivityInput:
    type: ActivityType = strawberry.field(description="What kind of activity it was.")
    summary: str = strawberry.field(description=SUMMARY)
    subject_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Its other subjects, existing parties."
    )
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    body: str | None = strawberry.field(default=None, description=BODY)


@strawberry.input
class PartyDataInput:
    """What every new party may carry, whatever its kind."""

    category_id: strawberry.ID | None = strawberry.field(default=None, description=CATEGORY)
    emails: list[EmailInput] = strawberry.field(default_factory=list, description=EMAILS)
    phones: list[PhoneInput] = strawberry.field(default_factory=list, description=PHONES)
    addresses: list[AddressInput] = strawberry.field(default_factory=list, description=ADDRESSES)
    fiscal: FiscalInput | None = strawberry.field(default=None, description=FISCAL)
    tags: list[str] = strawberry.field(default_factory=list, description=TAGS)
    external_ids: list[ExternalIdInput] = strawberry.field(
        default_factory=list, description=EXTERNAL_IDS
    )
    attributes: list[AttributeInput] = strawberry.field(
        default_factory=list, description=ATTRIBUTES
    )
    lead_status: LeadStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Its lead status when it is a prospect; none: not a lead."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="File the new party under this organization in the same write: an "
        "organization PART_OF it, a contact MEMBER_OF it, from now on. How an editor scoped "
        "to a subtree adds a party inside it.",
    )
    links: list[NewLinkInput] = strawberry.field(
        default_factory=list,
        description=f"Relationships with existing parties, made in the same write as the party "
        f"(at most {MAX_NEW_LINKS}); any one refused writes nothing.",
    )
    activities: list[NewActivityInput] = strawberry.field(
        default_factory=list,
        description=f"Activities recorded with the party in the same write (at most "
        f"{MAX_NEW_ACTIVITIES}), published to live feeds once it commits.",
    )
    check_duplicates: bool = strawberry.field(
        default=False,
        description="Write nothing when parties of the same kind may be this one (a score "
        "of at least the server's --duplicate-threshold, 0.8): the answer is CONFLICT with "
        "them in extensions.duplicates (id, displayName, score, nameSimilarity, signals).",
    )

    def party_data(self) -> dict[str, object]:
        return {
            "category_id": self.category_id,
            "tags": tuple(self.tags),
            "external_ids": tuple(x.value() for x in self.external_ids),
            "attributes": attribute_changes(self.attributes),
            "lead_status": self.lead_status,
            **contact_data(self.emails, self.phones, self.addresses, self.fiscal),
        }


@strawberry.input(description="A new organization or unit, and what it carries.")
class CreateOrganizationInput(PartyDataInput):
    name: str = strawberry.field(description="Its name, also its display name; not blank.")
    legal_form: LegalForm = strawberry.field(
        default=model.LegalForm.LEGAL_PERSON, description=LEGAL_FORM
    )
    level: strawberry.ID | None = strawberry.field(default=None, description=LEVEL)
    unit_type: UnitType | None = strawberry.field(
        default=None, description=UNIT_TYPE, deprecation_reason=UNIT_TYPE_GONE
    )

    def level_id(self) -> str | None:
        return level_of(self.level, self.unit_type)


@strawberry.input(description="A new contact, and what it carries.")
class CreateContactInput(PartyDataInput):
    first_name: str | None = strawberry.field(default=None, description="Given name.")
    last_name: str | None = strawberry.field(default=None, description="Family name.")
    display_name: str | None = strawberry.field(
        default=None, description="Defaults to first and last name."
    )
    legal_form: LegalForm = strawberry.field(
        default=model.LegalForm.NATURAL_PERSON, description=LEGAL_FORM
    )


@strawberry.input(description="A new user; making one needs the ADMIN permission.")
class CreateUserInput:
    username: str = strawberry.field(
        description="What the user signs in as: 2 to 64 letters, digits, '.', '_' or '-', unique."
    )
    display_name: str = strawberry.field(description="The name to show.")
    email: str | None = strawberry.field(
        default=None, description="A work e-mail address, stored as the user's one e-mail."
    )
    contact_id: strawberry.ID | None = strawberry.field(
        default=None, description="The contact record of the person behind the user."
    )


@strawberry.input(description="Fields to change; a field left out stays as it is.")
class UpdatePartyInput:
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="An organization's name."
    )
    first_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="A contact's given name; null clears it."
    )
    last_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="A contact's family name; null clears it."
    )
    display_name: str | None = strawberry.field(
        default=strawberry.UNSET, description="The name to show."
    )
    legal_form: LegalForm | None = strawberry.field(
        default=strawberry.UNSET, description="How the law sees the party."
    )
    category_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description=f"{CATEGORY} Null clears it."
    )
    level: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description=f"{LEVEL} Null clears it."
    )
    unit_type: UnitType | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"{UNIT_TYPE} Null clears it.",
        deprecation_reason=UNIT_TYPE_GONE,
    )
    emails: list[EmailInput] | None = strawberry.field(
        default=strawberry.UNSET, description=f"{EMAILS} Replaces them all; null clears them."
    )
    phones: list[PhoneInput] | None = strawberry.field(
        default=strawberry.UNSET, description=f"{PHONES} Replaces them all; null clears them."
    )
    addresses: list[AddressInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"{ADDRESSES} Replaces them all; null clears them.",
    )
    fiscal: FiscalInput | None = strawberry.field(
        default=strawberry.UNSET, description=f"{FISCAL} Null clears it."
    )
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description=f"{TAGS} Replaces them all; null clears them."
    )
    external_ids: list[ExternalIdInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description=f"{EXTERNAL_IDS} Replaces them all; null clears them.",
    )
    lead_status: LeadStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET,
        description="A contact's or organization's lead status; null: no longer a lead.",
    )
    attributes: list[AttributeInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Values of its category's own fields: each given replaces that field's "
        "value (null removes it), the others stay. Changing categoryId in the same input "
        "checks them against the new category.",
    )

    def changes(self) -> dict[str, object]:
        """The fields given, as domain values; an explicit null clears a field."""
        given = {
            f.name: getattr(self, f.name)
            for f in fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not strawberry.UNSET
        }
        data = contact_data(
            given.get("emails"), given.get("phones"), given.get("addresses"), given.get("fiscal")
        )
        for key in ("emails", "phones", "addresses", "fiscal"):
            if key in given:
                given[key] = data[key]
        if "tags" in given:
            given["tags"] = tuple(given["tags"] or ())
        if "external_ids" in given:
            given["external_ids"] = tuple(x.value() for x in given["external_ids"] or ())
        if "attributes" in given:
            given["attributes"] = attribute_changes(given["attributes"])
        if "level" in given or "unit_type" in given:
            given["unit_type"] = level_of(given.pop("level", None), given.get("unit_type"))
        return given


@strawberry.input(
    description="A new relationship between two existing parties; its type's rules (which "
    "kinds it joins, no cycles in a hierarchy) are checked."
)
class LinkInput:
    type: RelType = strawberry.field(description=LINK_TYPE)
    from_id: strawberry.ID = strawberry.field(description="The party the edge starts at.")
    to_id: strawberry.ID = strawberry.field(description="The party the edge points to.")
    role: str | None = strawberry.field(default=None, description=LINK_ROLE)
    since: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    properties: JSON | None = strawberry.field(default=None, description=LINK_PROPERTIES)


SUBJECTS = (
    "The parties it is about, the order kept: at least one, unless opportunityId names a "
    "deal, whose organization is added when none of the deal's parties is among them."
)
DEAL = (
    "The sales opportunity it is for: on its timeline. It must be one the viewer may "
    "change (else NOT_FOUND, as for an id that does not exist); a WON or LOST deal takes no "
    "planned work (BAD_USER_INPUT)."
)


@strawberry.input(description="A new activity with existing parties.")
class RecordActivityInput:
    type: ActivityType = strawberry.field(description="What kind of activity it was.")
    summary: str = strawberry.field(description=SUMMARY)
    subject_ids: list[strawberry.ID] = strawberry.field(description=SUBJECTS)
    author_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Defaults to the viewer; another author needs the ADMIN permission "
        "(importing history), and recordedBy then says who recorded it.",
    )
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    body: str | None = strawberry.field(default=None, description=BODY)
    opportunity_id: strawberry.ID | None = strawberry.field(default=None, description=DEAL)


@strawberry.input(description="Which parties to list; every condition given must hold.")
class PartyFilter:
    kinds: list[PartyKind] | None = strawberry.field(
        default=None, description="Parties of any of these kinds."
    )
    category_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Parties in any of these categories."
    )
    legal_forms: list[LegalForm] | None = strawberry.field(
        default=None, description="Parties of any of these legal forms."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Parties carrying every one of these tags."
    )
    include_archived: bool = strawberry.field(
        default=False, description="Also archived parties (merged ones among them)."
    )
    attributes: list[AttributeFilter] | None = strawberry.field(
        default=None,
        description="Parties whose attributes meet every one of these conditions (at most "
        "10); a field no category has is bad input.",
    )
    lead_statuses: list[LeadStatus] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Leads in any of these statuses."
    )
