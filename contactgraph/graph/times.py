"""UTC instants and their one text form, which sorts as it compares."""

from datetime import UTC, datetime

from .errors import BadUserInput


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware time to UTC; a naive time is ambiguous and refused."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise BadUserInput(f"time {value.isoformat()} has no UTC offset")
    return value.astimezone(UTC)


def parse_instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadUserInput(f"{text!r} is not an ISO-8601 date-time") from None
    return to_utc(value)


def format_instant(value: datetime) -> str:
    """Fixed-width UTC text (microseconds, +00:00), so string order is time order."""
    utc = value if value.tzinfo is UTC else to_utc(value)
    return utc.isoformat(timespec="microseconds")
