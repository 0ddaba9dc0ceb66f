"""The GraphQL types of what a party carries besides its name: e-mail addresses, phone
numbers, postal addresses, fiscal data, ids in other systems."""

from __future__ import annotations

import strawberry

LABEL = "What it is for, free text: work, home, billing; null when not given."


@strawberry.type(description="An e-mail address of a party.")
class Email:
    address: str = strawberry.field(
        description="The address, checked when written; its domain in lower case."
    )
    label: str | None = strawberry.field(description=LABEL)


@strawberry.type(description="A party's id in another system, which a sync from it finds.")
class ExternalId:
    source: str = strawberry.field(
        description="A short name of the other system (sap), stored in lower case."
    )
    key: str = strawberry.field(description="The party's id there, compared exactly.")


@strawberry.type(description="A phone number of a party.")
class Phone:
    number: str = strawberry.field(description="As entered, for display.")
    label: str | None = strawberry.field(description=LABEL)
    e164: str | None = strawberry.field(
        description="The number in E.164 (+436641234567), how it is compared; null for a "
        "number stored before numbers were checked."
    )


@strawberry.type(description="A postal address of a party; every part is optional.")
class Address:
    label: str | None = strawberry.field(description=LABEL)
    street: str | None = strawberry.field(description="Street and house number.")
    postal_code: str | None = strawberry.field(description="As the country writes it.")
    city: str | None = strawberry.field(description="The town or city.")
    region: str | None = strawberry.field(description="State, province or county.")
    country: str | None = strawberry.field(description="ISO 3166 alpha-2 code: AT, DE, IT.")


@strawberry.type(description="What invoicing needs; any party may carry it.")
class Fiscal:
    vat_number: str | None = strawberry.field(
        description="Compact, with its country prefix: ATU13585627, DE136695976."
    )
    tax_code: str | None = strawberry.field(
        description="Compact, as its country's rules give it: RSSMRA85T10A562S."
    )
    country: str | None = strawberry.field(
        description="ISO 3166 alpha-2 code of the country whose rules the tax code follows."
    )
