"""GraphQL input objects and their translation into domain values."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from ..graph import model
from .enums import ActivityType, LegalForm, PartyKind, RelType, UnitType


@strawberry.input(
    description="Checked as an e-mail address (no DNS look-up) and stored "
    "normalised (the domain in lower case)."
)
class EmailInput:
    address: str
    label: str | None = None


@strawberry.input(
    description="A phone number, in international form (+43 664 1234567) or "
    "as dialled in the party's country (its first address's, else fiscal.country, else the "
    "server's --default-region); checked, and stored as entered beside its E.164 form."
)
class PhoneInput:
    number: str
    label: str | None = None


@strawberry.input
class AddressInput:
    label: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
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
    type: RelType
    from_id: strawberry.ID | None = None
    to_id: strawberry.ID | None = None
    role: str | None = None
    since: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    properties: JSON | None = None


MAX_NEW_ACTIVITIES = 10


@strawberry.input(
    description="An activity recorded with the new party in the same write, by the viewer: "
    "the new party is its first subject."
)
class NewActivityInput:
    type: ActivityType
    summary: str
    subject_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Its other subjects, existing parties."
    )
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    body: str | None = None


@strawberry.input
class PartyDataInput:
    """What every new party may carry, whatever its kind."""

    category_id: strawberry.ID | None = None
    emails: list[EmailInput] = strawberry.field(default_factory=list)
    phones: list[PhoneInput] = strawberry.field(default_factory=list)
    addresses: list[AddressInput] = strawberry.field(default_factory=list)
    fiscal: FiscalInput | None = None
    tags: list[str] = strawberry.field(default_factory=list)
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
            **contact_data(self.emails, self.phones, self.addresses, self.fiscal),
        }


@strawberry.input
class CreateOrganizationInput(PartyDataInput):
    name: str
    legal_form: LegalForm = model.LegalForm.LEGAL_PERSON
    unit_type: UnitType | None = None


@strawberry.input
class CreateContactInput(PartyDataInput):
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = strawberry.field(
        default=None, description="Defaults to first and last name."
    )
    legal_form: LegalForm = model.LegalForm.NATURAL_PERSON


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    email: str | None = None
    contact_id: strawberry.ID | None = strawberry.field(
        default=None, description="The contact record of the person behind the user."
    )


@strawberry.input(description="Fields to change; a field left out stays as it is.")
class UpdatePartyInput:
    name: str | None = strawberry.UNSET
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    display_name: str | None = strawberry.UNSET
    legal_form: LegalForm | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    unit_type: UnitType | None = strawberry.UNSET
    emails: list[EmailInput] | None = strawberry.UNSET
    phones: list[PhoneInput] | None = strawberry.UNSET
    addresses: list[AddressInput] | None = strawberry.UNSET
    fiscal: FiscalInput | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET

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
        return given


@strawberry.input
class LinkInput:
    type: RelType
    from_id: strawberry.ID
    to_id: strawberry.ID
    role: str | None = None
    since: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    properties: JSON | None = None


@strawberry.input
class RecordActivityInput:
    type: ActivityType
    summary: str
    subject_ids: list[strawberry.ID]
    author_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Defaults to the viewer; another author needs the ADMIN permission "
        "(importing history), and recordedBy then says who recorded it.",
    )
    occurred_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    body: str | None = None


@strawberry.input
class PartyFilter:
    kinds: list[PartyKind] | None = None
    category_ids: list[strawberry.ID] | None = None
    legal_forms: list[LegalForm] | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Parties carrying every one of these tags."
    )
    include_archived: bool = False
