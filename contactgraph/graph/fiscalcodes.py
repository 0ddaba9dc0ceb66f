"""VAT numbers and national tax codes, checked by python-stdnum (formats and check
digits, no online look-up) and kept in one normal form.

A VAT number is stored compact, upper case, with its country prefix: the EU VAT
form (ATU13585627, DE136695976, IT00743110157, EL094259216 for Greece) and the same
for other countries stdnum knows (GB980780684, CHE107787577MWST). A number written
without a prefix is read by the party's fiscal country and gets its prefix.

A tax code is stored compact as its country's rules give it (RCCMNL83S18D969H,
36574261809, 591199013), beside the country whose rules it follows (Fiscal.country).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.util import clean, get_cc_module

if TYPE_CHECKING:
    from stdnum.util import NumberValidationModule as Module


class FiscalCodeError(ValueError):
    """Why a code is not valid, as the end of a sentence naming the field and value."""


_SEPARATORS = " -./,:"
# prefixes stdnum.eu.vat reads: the member states (Greece as EL, Northern Ireland as XI)
# and EU, the one-stop shop's numbers
_EU_PREFIXES = frozenset({cc.upper() for cc in eu_vat.MEMBER_STATES} | {"EL", "EU"}) - {"GR"}

# The national codes a party's tax code may be, per country: a person's and a
# company's where they differ. Other countries use stdnum's `tin` module, else their
# VAT number without its prefix (many countries' company tax number).
TAX_CODE_MODULES: dict[str, tuple[str, ...]] = {
    "IT": ("codicefiscale",),  # a person's 16 characters, or a company's 11 digits
    "DE": ("idnr", "stnr"),  # a person's Steuer-IdNr, or a Steuernummer
    "AT": ("tin",),  # Abgabenkontonummer
    "CH": ("ssn", "uid"),  # a person's AHV number, or a business's UID
    "FR": ("nif", "siren"),  # a person's numéro fiscal, or a company's SIREN
    "ES": ("nif",),  # DNI, NIE or CIF
    "NL": ("bsn",),  # a person's BSN, or a legal entity's RSIN (the same form)
    "GB": ("utr",),  # Unique Taxpayer Reference
}


def _reason(error: stdnum_errors.ValidationError) -> str:
    """stdnum's message ("The number has an invalid length.") as a clause."""
    text = str(error).strip().rstrip(".") or "the number is not valid"
    return text[0].lower() + text[1:]


@cache
def _module(country: str, name: str) -> Module | None:
    return get_cc_module(country.lower(), name)


def _name(module: Module) -> str:
    """The code's own name, from the first line of its module's documentation."""
    first = (module.__doc__ or "tax code").strip().splitlines()[0]
    return first.split(" (")[0].rstrip(".")


def vat_number(text: str, country: str | None) -> str:
    """The VAT number in normal form; `country` (ISO alpha-2) reads one without prefix."""
    number = clean(text, _SEPARATORS).upper().strip()
    if not number:
        raise FiscalCodeError("is empty")
    prefix = number[:2]
    if len(number) <= 2 or not prefix.isalpha():
        if country is None:
            raise FiscalCodeError(
                "has no country prefix, and the party has no country to read it by "
                "(fiscal.country, an address's country, or the server's --default-region)"
            )
        prefix = "EL" if country == "GR" else country
        number = ("CHE" if country == "CH" else prefix) + number
    elif prefix == "GR":  # Greece's VAT prefix is EL
        prefix, number = "EL", "EL" + number[2:]
    try:
        if prefix in _EU_PREFIXES:
            return str(eu_vat.validate(number))
        module = _module(prefix, "vat")
        if module is None:
            raise FiscalCodeError(f"is not a VAT number contactgraph can check ({prefix})")
        compact = str(module.validate(number))
    except stdnum_errors.ValidationError as error:
        raise FiscalCodeError(f"is not a valid VAT number: {_reason(error)}") from None
    return compact if compact.startswith(prefix) else prefix + compact


def tax_code(text: str, country: str | None) -> str:
    """The tax code in normal form under `country`'s rules (ISO alpha-2)."""
    if not clean(text, _SEPARATORS).strip():
        raise FiscalCodeError("is empty")
    if country is None:
        raise FiscalCodeError(
            "needs a country whose rules it follows (fiscal.country, an address's "
            "country, or the server's --default-region)"
        )
    modules = tax_code_modules(country)
    if not modules:
        # no rules known: kept as written without separators, if it could be a code
        number = clean(text, _SEPARATORS).upper().strip()
        if not number.isalnum():
            raise FiscalCodeError(f"is not a tax code: only letters and digits ({country})")
        return number
    errors = []
    for module in modules:
        try:
            return str(module.validate(text))
        except stdnum_errors.ValidationError as error:
            errors.append(error)
    names = " nor ".join(_name(m) for m in modules)
    raise FiscalCodeError(f"is not a valid tax code in {country} ({names}): {_reason(errors[0])}")


def tax_code_modules(country: str) -> tuple[Module, ...]:
    """The stdnum modules a tax code of `country` is checked by; () when none."""
    names = TAX_CODE_MODULES.get(country)
    if names is not None:
        found = tuple(_module(country, n) for n in names)
        return tuple(m for m in found if m is not None)
    for name in ("tin", "vat"):
        module = _module(country, name)
        if module is not None:
            return (module,)
    return ()


def vat_key(number: str) -> str:
    """What makes two stored VAT numbers the same holder's, valid or not: the number
    without separators (a valid one is stored so already), Greece's under EL, and a
    Swiss one without the language's suffix (MWST, TVA, IVA)."""
    key = clean(number, _SEPARATORS).upper().strip()
    if key.startswith("GR"):
        key = "EL" + key[2:]
    return key[:12] if key.startswith("CHE") else key


def tax_key(code: str, country: str | None) -> str:
    """What makes two stored tax codes the same holder's: the country and the code
    without separators."""
    return f"{country or ''}:{clean(code, _SEPARATORS).upper().strip()}"
