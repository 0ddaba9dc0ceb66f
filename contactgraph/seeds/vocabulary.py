"""The words, names and numbers synthetic graphs are made of: valid as the store checks
them (e-mail addresses, Austrian mobile numbers, VAT numbers and tax codes with their
check digits), and varied enough to look like a real registry."""

from __future__ import annotations

from stdnum import luhn
from stdnum.at import tin as at_tin
from stdnum.at import uid as at_uid
from stdnum.iso7064 import mod_11_10

from ..graph.model import ActivityType, Fiscal, Phone

FIRST_NAMES = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hannah",
    "Ivan",
    "Jana",
    "Karl",
    "Lena",
    "Marco",
    "Nina",
    "Ole",
    "Paula",
    "Quentin",
    "Rosa",
    "Stefan",
    "Tina",
    "Uwe",
    "Vera",
    "Walter",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Emil",
    "Lara",
    "Noah",
    "Mia",
    "Luca",
    "Sara",
]
LAST_NAMES = [
    "Keller",
    "Rossi",
    "Hofer",
    "Weber",
    "Petersen",
    "Hansen",
    "Brandt",
    "Wagner",
    "Huber",
    "Marino",
    "Berger",
    "Schmid",
    "Vogel",
    "Yilmaz",
    "Kramer",
    "Lenz",
    "Roth",
    "Stein",
    "Fischer",
    "Bauer",
    "Moser",
    "Gruber",
    "Novak",
    "Costa",
    "Meyer",
    "Wolf",
    "Lang",
    "Frank",
]
ADJECTIVES = [
    "Alpine",
    "Nordic",
    "Blue",
    "Golden",
    "Swift",
    "Bright",
    "Silver",
    "Green",
    "Urban",
    "Royal",
    "Central",
    "Eastern",
]
NOUNS = [
    "Logistics",
    "Foods",
    "Energy",
    "Systems",
    "Textiles",
    "Media",
    "Builders",
    "Health",
    "Motors",
    "Finance",
    "Labs",
]
COMPANY_FORMS = ("AG", "GmbH", "KG", "Ltd", "S.p.A.", "SE")
DEPARTMENTS = [
    "Sales",
    "Finance",
    "Operations",
    "Purchasing",
    "Legal",
    "IT",
    "Marketing",
    "Service",
    "Quality",
    "HR",
]
SUMMARIES = {
    ActivityType.CALL: "Call about the current order",
    ActivityType.EMAIL: "Sent the updated offer",
    ActivityType.MEETING: "Review meeting",
    ActivityType.NOTE: "Note on preferences",
    ActivityType.AGREEMENT: "Agreement signed",
    ActivityType.TASK: "Follow up next week",
    ActivityType.DOCUMENT: "Report filed",
}
_MOBILE_PREFIXES = ("650", "660", "664", "676", "680", "681", "688", "699")  # Austria's
# tax offices that numbers are made for: Innsbruck, Wien 1/23, Graz-Stadt, Linz, Salzburg
_TAX_OFFICES = ("81", "09", "68", "46", "91")


def mobile(draw: int, serial: int) -> Phone:
    """A valid Austrian mobile number, unique per serial (below ten million), with the
    E.164 form the store would give it."""
    prefix = _MOBILE_PREFIXES[draw % len(_MOBILE_PREFIXES)]
    return Phone(f"+43 {prefix} {serial:07d}", "mobile", f"+43{prefix}{serial:07d}")


def vat_number(draw: int, serial: int) -> str:
    """A valid VAT number of Austria, Germany or Italy (by the draw), unique per serial
    (below five million): the check digit computed as each country does."""
    country = draw % 3
    if country == 0:
        body = f"U{5 * 10**6 + serial:07d}"
        return f"AT{body}{at_uid.calc_check_digit(body)}"
    if country == 1:
        body = f"{2 * 10**7 + serial:08d}"
        return f"DE{body}{mod_11_10.calc_check_digit(body)}"
    body = f"{10**6 + serial:07d}021"  # 021: the province of Bolzano
    return f"IT{body}{luhn.calc_check_digit(body)}"


def tax_code(serial: int) -> Fiscal:
    """A valid Austrian tax number (Abgabenkontonummer), unique per serial."""
    office = _TAX_OFFICES[serial // 10**6 % len(_TAX_OFFICES)]
    body = f"{office}{serial % 10**6:06d}"
    return Fiscal(None, body + at_tin.calc_check_digit(body + "0"), "AT")
