"""Turning what a person typed into checked values, or a ValidationError naming the field."""

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import TypeVar
from zoneinfo import ZoneInfo

from carehome_share.domain.errors import ValidationError

UK = ZoneInfo("Europe/London")
# Control and format characters (Unicode Cc, Cf), line separators and lone surrogates: they
# corrupt printed reports and audit hashes, and invisible or reordering ones (zero-width spaces,
# right-to-left overrides) make a name or a justification read differently from what is stored.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_WHITESPACE = frozenset("\n\t")  # kept where a field allows them (`single_line` does not)
E = TypeVar("E", bound=Enum)


def text(field: str, value: object, *, max_len: int = 200, required: bool = True) -> str:
    """Trimmed, NFC-normalised text with no control or format characters (new lines allowed)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "text")
    cleaned = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    hidden = next((ch for ch in cleaned if _is_hidden(ch)), None)
    if hidden is not None:
        raise ValidationError(
            field,
            "text without control characters or invisible formatting characters such as "
            f"zero-width spaces or right-to-left marks (found U+{ord(hidden):04X})",
        )
    if required and not cleaned:
        raise ValidationError(field, "must not be empty")
    if len(cleaned) > max_len:
        raise ValidationError(field, f"at most {max_len} characters (got {len(cleaned)})")
    return cleaned


def _is_hidden(ch: str) -> bool:
    return unicodedata.category(ch) in _HIDDEN and ch not in _WHITESPACE


def visible_length(value: str) -> int:
    """How many characters of `value` show on paper: letters, digits, punctuation and symbols,
    not spaces, invisible characters or accents on another letter."""
    return sum(1 for ch in value if unicodedata.category(ch)[0] in "LNPS")


def single_line(field: str, value: object, *, max_len: int = 200, required: bool = True) -> str:
    """Text as `text`, on one line (names, usernames, references)."""
    cleaned = text(field, value, max_len=max_len, required=required)
    if "\n" in cleaned or "\t" in cleaned:
        raise ValidationError(field, "a single line of text")
    return cleaned


def as_date(field: str, value: object, *, required: bool = True) -> date | None:
    """A calendar date, given as a date or as YYYY-MM-DD."""
    if value is None or value == "":
        if required:
            raise ValidationError(field, "a date as YYYY-MM-DD")
        return None
    if isinstance(value, datetime):
        raise ValidationError(field, "a date as YYYY-MM-DD, not a date and time")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(field, "a date as YYYY-MM-DD, e.g. 2026-03-31")


def as_instant(field: str, value: object) -> datetime:
    """A moment in time: an aware datetime, or YYYY-MM-DD[THH:MM] in UK local time."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(field, "a date and time with a time zone")
        return value.astimezone(UTC)
    if isinstance(value, str):
        raw = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return day_start(as_date(field, raw))  # type: ignore[arg-type]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?", raw):
            try:
                return datetime.fromisoformat(raw).replace(tzinfo=UK).astimezone(UTC)
            except ValueError:
                pass
    if isinstance(value, date):
        return day_start(value)
    raise ValidationError(field, "a date as YYYY-MM-DD or a date and time as YYYY-MM-DDTHH:MM")


# SQLite keeps whole numbers in 64 bits: a larger one names no record and cannot be looked up.
MAX_ROW_ID = 2**63 - 1


def row_id(value: object) -> int | None:
    """`value` when it can be a record's number (1 to MAX_ROW_ID), else None: no such record."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ROW_ID:
        return value
    return None


def choice(field: str, value: object, enum: type[E]) -> E:
    """One of an enumeration's values, given as the member or its value."""
    if isinstance(value, enum):
        return value
    for member in enum:
        if value == member.value:
            return member
    allowed = ", ".join(str(m.value) for m in enum)
    raise ValidationError(field, f"one of: {allowed}")


def choices(field: str, values: object, enum: type[E], *, required: bool = True) -> list[E]:
    """A list of distinct enumeration values, in the enumeration's order."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(field, "a list of values")
    picked = {choice(field, v, enum) for v in values}
    if required and not picked:
        raise ValidationError(field, "at least one value")
    return [m for m in enum if m in picked]


def day_start(day: date) -> datetime:
    """Midnight at the start of a UK calendar day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=UK).astimezone(UTC)


def uk_date(instant: datetime) -> date:
    """The UK calendar day on which an instant falls."""
    return instant.astimezone(UK).date()
