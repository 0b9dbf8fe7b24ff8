"""Turning what a person typed into checked values, or a ValidationError naming the field."""

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
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


FIRST_YEAR, LAST_YEAR = 1900, 2100  # a year outside is a typing mistake (0026 for 2026)


def _in_range(field: str, day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(
            field, f"a date from {FIRST_YEAR} to {LAST_YEAR} ({day.isoformat()} is not)"
        )
    return day


def as_date(field: str, value: object, *, required: bool = True) -> date | None:
    """A calendar date from 1900 to 2100, given as a date or as YYYY-MM-DD."""
    if value is None or value == "":
        if required:
            raise ValidationError(field, "a date as YYYY-MM-DD")
        return None
    if isinstance(value, datetime):
        raise ValidationError(field, "a date as YYYY-MM-DD, not a date and time")
    if isinstance(value, date):
        return _in_range(field, value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return _in_range(field, parsed)
    raise ValidationError(field, "a date as YYYY-MM-DD, e.g. 2026-03-31")


_WALL_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:\d{2})?")


def as_instant(field: str, value: object) -> datetime:
    """A moment from 1900 to 2100: an aware datetime, or YYYY-MM-DD[THH:MM] in UK local time,
    or with its offset (YYYY-MM-DDTHH:MM+01:00). A UK time the clocks skip is refused; one
    they pass twice needs its offset."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError(field, "a date and time with a time zone")
        _in_range(field, value.date())
        return value.astimezone(UTC)
    if isinstance(value, str):
        raw = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return day_start(as_date(field, raw))  # type: ignore[arg-type]
        if match := _WALL_TIME.fullmatch(raw):
            day, clock, offset = match.groups()
            try:
                wall = datetime.fromisoformat(f"{day}T{clock}")
                given = datetime.fromisoformat(f"{day}T{clock}{offset}") if offset else None
            except ValueError:
                pass
            else:
                return as_instant(field, given) if given else _uk_wall_time(field, wall)
    if isinstance(value, date):
        return day_start(as_date(field, value))  # type: ignore[arg-type]
    raise ValidationError(
        field,
        "a date as YYYY-MM-DD or a date and time as YYYY-MM-DDTHH:MM (UK time), "
        "e.g. 2026-03-31T14:05",
    )


def _uk_wall_time(field: str, wall: datetime) -> datetime:
    """A UK clock reading (no time zone) as a UTC instant. Refused when the clocks skip it (they
    go forward an hour one night in March) or pass it twice (back an hour in October): then
    only the offset says which of the two was meant."""
    _in_range(field, wall.date())
    if not _shown_by_uk_clocks(wall):
        raise ValidationError(
            field,
            f"a UK time that exists: {wall:%H:%M} on {wall:%d/%m/%Y} does not "
            "(the clocks go forward an hour)",
        )
    if repeated_uk_time(wall):
        raise ValidationError(
            field,
            f"the offset of a time the clocks pass twice: {wall:%H:%M} on {wall:%d/%m/%Y} "
            "happens twice as they go back; say which: +01:00 for the first (BST), +00:00 for "
            f"the second (GMT), e.g. {wall:%Y-%m-%dT%H:%M}+01:00",
        )
    return wall.replace(tzinfo=UK).astimezone(UTC)


def _shown_by_uk_clocks(wall: datetime) -> bool:
    return wall.replace(tzinfo=UK).astimezone(UTC).astimezone(UK).replace(tzinfo=None) == wall


def repeated_uk_time(wall: datetime) -> bool:
    """Whether a UK clock reading happens twice (the hour before the clocks go back)."""
    first, second = wall.replace(tzinfo=UK, fold=0), wall.replace(tzinfo=UK, fold=1)
    return first.utcoffset() != second.utcoffset() and _shown_by_uk_clocks(wall)


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
        raise ValidationError(field, "none chosen: choose at least one")
    return [m for m in enum if m in picked]


def day_start(day: date) -> datetime:
    """Midnight at the start of a UK calendar day, in UTC."""
    return datetime.combine(day, time.min, tzinfo=UK).astimezone(UTC)


def day_end(day: date) -> datetime:
    """The moment a UK calendar day ends (the next midnight), in UTC: when something whose last
    day it is stops being in force."""
    return day_start(day + timedelta(days=1))


def uk_date(instant: datetime) -> date:
    """The UK calendar day on which an instant falls."""
    return instant.astimezone(UK).date()
