"""A party's contact and fiscal data, checked by maintained libraries and brought to one
normal form before any store writes it.

- e-mail addresses: email-validator's syntax check (no DNS look-up), stored in its
  normalised form (the domain in lower case); compared case-folded whole.
- phone numbers: phonenumbers; `number` stays as entered, for display, and `e164`
  holds the number as +436641234567. A number without +country code is read in the
  party's country.
- countries (addresses, fiscal.country): ISO 3166 by pycountry, stored as alpha-2; the
  English name and alpha-3 code are accepted too.
- VAT numbers and tax codes: fiscalcodes.py.

A party's country is its first address's that names one, else its fiscal country, else
the server's default region. The fiscal country is fiscal.country when given, else that
same country; a tax code is stored with the country its rules came from.

A write judges only the values it brings: a value the party holds already (an e-mail
address, a phone number, an address, a VAT number or tax code) passes as it is, so data
stored before these checks, or under older rules, never blocks an unrelated change.
`contactgraph check` reports such values (problems()).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from .errors import InvalidValue
from .fiscalcodes import FiscalCodeError, tax_code, tax_key, vat_key, vat_number
from .model import Address, Email, Fiscal, Party, Phone

# not ISO 3166 codes, but often written for them
_NOT_ISO = {"UK": "GB", "EL": "GR"}


def country_code(text: str) -> str:
    """ISO 3166-1 alpha-2 for a code or English name; ValueError saying why not."""
    given = text.strip()
    found = pycountry.countries.get(alpha_2=given.upper()) if len(given) == 2 else None
    if found is None:
        try:
            found = pycountry.countries.lookup(given)
        except LookupError:
            hint = f" (write {_NOT_ISO[given.upper()]})" if given.upper() in _NOT_ISO else ""
            raise ValueError(f"is not an ISO 3166 country code{hint}") from None
    return str(found.alpha_2)


def email_address(text: str) -> str:
    """The address as email-validator normalises it; ValueError saying why not."""
    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise ValueError(f"is not an e-mail address: {_clause(str(error))}") from None


def email_key(address: str) -> str:
    """How addresses are compared and looked up: case-folded whole (the local part is
    case-sensitive in theory, never in practice), Unicode in one composed form. Stored
    addresses are normalised already; an address looked up is normalised first when
    it can be."""
    return unicodedata.normalize("NFC", address.strip()).casefold()


def lookup_key(address: str) -> str:
    """The key of an address someone looks up, as given."""
    try:
        return email_key(email_address(address))
    except ValueError:
        return email_key(address)


def phone_e164(number: str, region: str | None) -> str:
    """The number in E.164, reading one without +country code in `region`; ValueError
    saying why not."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            if region is None and not number.strip().startswith(("+", "00")):
                raise ValueError(
                    "has no country code (+...), and the party has no country to read it by "
                    "(an address's country, fiscal.country, or the server's --default-region)"
                ) from None
            raise ValueError("has an unknown country code") from None
        raise ValueError(f"is not a phone number: {_clause(str(error.args[0]))}") from None
    if not phonenumbers.is_valid_number(parsed):
        where = phonenumbers.region_code_for_number(parsed) or f"+{parsed.country_code}"
        raise ValueError(f"is not a valid phone number in {where}")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def default_region(text: str) -> str:
    """A --default-region value: a region phonenumbers knows, as its upper-case code."""
    region = text.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{text!r} is not an ISO 3166 alpha-2 region code such as AT or DE")
    return region


def _clause(message: str) -> str:
    text = message.strip().rstrip(".")
    return text[0].lower() + text[1:] if text else "not valid"


def _country_or_none(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return country_code(text)
    except ValueError:
        return None


def home_country(party: Party, region: str | None) -> str | None:
    """Where the party's phone numbers are read: its first address's country, else its
    fiscal country, else `region`."""
    return _home(party.addresses, party.fiscal, region)


def _home(addresses: tuple[Address, ...], fiscal: Fiscal | None, region: str | None) -> str | None:
    for address in addresses:
        found = _country_or_none(address.country)
        if found is not None:
            return found
    return _country_or_none(fiscal.country if fiscal else None) or region


def fiscal_country(party: Party, region: str | None) -> str | None:
    """Whose rules the party's tax code (and a VAT number without prefix) follows."""
    given = _country_or_none(party.fiscal.country if party.fiscal else None)
    return given or home_country(party, region)


def normalised(party: Party, region: str | None, before: Party | None = None) -> Party:
    """The party with its contact and fiscal data in normal form, or InvalidValue naming
    the first value that is not valid. Values `before` (the stored party) holds already
    pass unjudged; the party itself comes back when nothing changes."""
    held = before or _NOTHING
    addresses = tuple(
        a if a in held.addresses else _address(a, i) for i, a in enumerate(party.addresses)
    )
    emails = tuple(_email(e, i, held) for i, e in enumerate(party.emails))
    fiscal = _fiscal(party.fiscal, addresses, region, held.fiscal or Fiscal())
    home = _home(addresses, fiscal, region)
    phones = tuple(_phone(p, i, home, held) for i, p in enumerate(party.phones))
    normal = (addresses, emails, phones, fiscal)
    if normal == (party.addresses, party.emails, party.phones, party.fiscal):
        return party
    return replace(party, addresses=addresses, emails=emails, phones=phones, fiscal=fiscal)


@dataclass(frozen=True)
class _Held:
    """The contact data a party holds already; a new party holds none."""

    emails: tuple[Email, ...] = ()
    phones: tuple[Phone, ...] = ()
    addresses: tuple[Address, ...] = ()
    fiscal: Fiscal | None = None


_NOTHING = _Held()


def _address(address: Address, i: int) -> Address:
    if address.country is None:
        return address
    try:
        country = country_code(address.country)
    except ValueError as error:
        raise InvalidValue(f"addresses[{i}].country", address.country, str(error)) from None
    return address if country == address.country else replace(address, country=country)


def _email(email: Email, i: int, held: Party | _Held) -> Email:
    if any(email.address == h.address for h in held.emails):
        return email
    try:
        address = email_address(email.address)
    except ValueError as error:
        raise InvalidValue(f"emails[{i}].address", email.address, str(error)) from None
    return email if address == email.address else replace(email, address=address)


def _phone(phone: Phone, i: int, home: str | None, held: Party | _Held) -> Phone:
    stored = next((h for h in held.phones if h.number == phone.number), None)
    if stored is not None:
        return phone if phone.e164 == stored.e164 else replace(phone, e164=stored.e164)
    try:
        e164 = phone_e164(phone.number, home)
    except ValueError as error:
        raise InvalidValue(f"phones[{i}].number", phone.number, str(error)) from None
    number = phone.number.strip()
    if (number, e164) == (phone.number, phone.e164):
        return phone
    return replace(phone, number=number, e164=e164)


def _fiscal(
    fiscal: Fiscal | None, addresses: tuple[Address, ...], region: str | None, before: Fiscal
) -> Fiscal | None:
    if fiscal is None:
        return None
    country = fiscal.country
    if country is not None and country != before.country:
        try:
            country = country_code(country)
        except ValueError as error:
            raise InvalidValue("fiscal.country", country, str(error)) from None
    rules = country or _home(addresses, None, region)
    vat = fiscal.vat_number
    if vat is not None and vat != before.vat_number:
        try:
            vat = vat_number(vat, rules)
        except FiscalCodeError as error:
            raise InvalidValue("fiscal.vatNumber", vat, str(error)) from None
    code = fiscal.tax_code
    if code is not None:
        if code == before.tax_code and country in (None, before.country):
            country = before.country  # unchanged: it stays under the rules it came by
        else:
            country = rules
            try:
                code = tax_code(code, rules)
            except FiscalCodeError as error:
                raise InvalidValue("fiscal.taxCode", code, str(error)) from None
    normal = Fiscal(vat, code, country)
    return fiscal if normal == fiscal else normal


@dataclass(frozen=True)
class Problem:
    """A stored value that is not valid, as `contactgraph check` reports it."""

    party_id: str
    field: str
    value: str
    reason: str


def problems(party: Party, region: str | None) -> list[Problem]:
    """Every value of a stored party that a write bringing it now would refuse."""
    found: list[Problem] = []

    def judge(field: str, value: str, check: Callable[[], object]) -> None:
        try:
            check()
        except (ValueError, FiscalCodeError) as error:
            found.append(Problem(party.id, field, value, str(error)))

    for i, address in enumerate(party.addresses):
        if address.country is not None:
            judge(
                f"addresses[{i}].country", address.country, partial(country_code, address.country)
            )
    for i, email in enumerate(party.emails):
        judge(f"emails[{i}].address", email.address, partial(email_address, email.address))
    home = home_country(party, region)
    for i, phone in enumerate(party.phones):
        # a number stored with its E.164 form is judged by that; an older one as entered
        stored = partial(phone_e164, phone.e164, None) if phone.e164 else None
        judge(
            f"phones[{i}].number", phone.number, stored or partial(phone_e164, phone.number, home)
        )
    fiscal = party.fiscal
    if fiscal is not None:
        # codes that follow a country that is not one: the country is the problem reported
        unknown = fiscal.country is not None and _country_or_none(fiscal.country) is None
        if fiscal.country is not None and unknown:
            judge("fiscal.country", fiscal.country, partial(country_code, fiscal.country))
        rules = None if unknown else fiscal_country(party, region)
        if fiscal.vat_number is not None:  # one with its prefix needs no country
            vat = partial(vat_number, fiscal.vat_number, rules)
            judge("fiscal.vatNumber", fiscal.vat_number, vat)
        if fiscal.tax_code is not None and not unknown:
            judge("fiscal.taxCode", fiscal.tax_code, partial(tax_code, fiscal.tax_code, rules))
    return found


@dataclass(frozen=True)
class Keys:
    """What a party is found and compared by: its VAT number, its tax code (each unique
    among parties not archived) and its e-mail addresses (indexed for look-up)."""

    vat: str | None
    tax: str | None
    emails: tuple[str, ...]

    def fiscal(self) -> list[tuple[str, str]]:
        """(field, key) of the codes that must be unique."""
        pairs = [("fiscal.vatNumber", self.vat), ("fiscal.taxCode", self.tax)]
        return [(field, key) for field, key in pairs if key]


def keys(party: Party) -> Keys:
    fiscal = party.fiscal
    return Keys(
        vat=vat_key(fiscal.vat_number) if fiscal and fiscal.vat_number else None,
        tax=tax_key(fiscal.tax_code, fiscal.country) if fiscal and fiscal.tax_code else None,
        emails=tuple(dict.fromkeys(email_key(e.address) for e in party.emails)),
    )
