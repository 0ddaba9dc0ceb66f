"""Full-text search terms, made the same way for every backend.

Text is folded (case, diacritics) and cut into runs of letters and digits
here, so the SQLite FTS index and the Neo4j full-text index hold the same
tokens and a query matches the same parties on both. A query is every word
as a prefix, all required; user text never reaches an index's query syntax.
"""

import re
import unicodedata

from .errors import BadUserInput
from .model import Party

_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    folded = text.casefold()
    if not folded.isascii():  # ASCII has nothing to decompose; most text is, seeds all
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(folded)


def _joined(fields: list[str | None]) -> str:
    return " ".join(t for field in fields if field for t in tokens(field))


def indexed_text(party: Party) -> str:
    """What every search matches: names, username, emails, phones, text attributes."""
    fields = [party.display_name, party.name, party.first_name, party.last_name, party.username]
    fields += [e.address for e in party.emails]
    fields += [p.number for p in party.phones]
    fields += [v for v in party.attributes.values() if isinstance(v, str)]
    return _joined(fields)


def activity_text(summary: str, body: str | None) -> str:
    """What an activity search matches: its summary and body."""
    return _joined([summary, body])


def fiscal_text(party: Party) -> str:
    """What a search matches besides when the viewer may read fiscal data: VAT numbers
    and tax codes, kept apart so nobody else learns them by searching."""
    return _joined([party.fiscal.vat_number, party.fiscal.tax_code] if party.fiscal else [])


def check_search(text: str, max_terms: int, max_term_length: int) -> None:
    """Refuse a search whose terms would make a costly index query: each term is a prefix
    query and all are required, so their number multiplies the work."""
    terms = tokens(text)
    if len(terms) > max_terms:
        raise BadUserInput(f"search has {len(terms)} words; at most {max_terms}")
    longest = max(terms, key=len, default="")
    if len(longest) > max_term_length:
        raise BadUserInput(
            f"search word {longest[:20]!r}... is {len(longest)} characters long; "
            f"at most {max_term_length}"
        )


def query_terms(text: str) -> list[str]:
    """The prefix terms of a search; a search with none is bad input."""
    terms = tokens(text)
    if not terms:
        raise BadUserInput("search needs at least one letter or digit")
    return terms
