"""Recovery codes: a 256-bit database key written for reading aloud and typing back.

Thirteen groups of five Crockford base32 characters. Each group is four key characters and a
check character that depends on the group's position, so a mistyped character or two groups
swapped is caught and the group named before the database is even tried.
"""

import re

from carehome_share.domain.errors import ValidationError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_READ_AS = {"O": "0", "I": "1", "L": "1"}
_GROUPS = 13
_WEIGHTS = (1, 3, 5, 7)  # odd, so any single substitution changes the sum mod 32
FIELD = "recovery_code"


def _check(group_number: int, values: list[int]) -> int:
    return (sum(w * v for w, v in zip(_WEIGHTS, values, strict=True)) + 7 * group_number) % 32


def encode(key: bytes) -> str:
    """The recovery code for a 32-byte key."""
    if len(key) != 32:
        raise ValueError("a recovery code holds a 32-byte key")
    number = int.from_bytes(key, "big") << 4  # 256 bits padded to 52 symbols of 5 bits
    symbols = [(number >> (5 * i)) & 31 for i in reversed(range(4 * _GROUPS))]
    groups = []
    for g in range(_GROUPS):
        values = symbols[4 * g : 4 * g + 4]
        groups.append("".join(ALPHABET[v] for v in [*values, _check(g + 1, values)]))
    return "-".join(groups)


def decode(code: str) -> bytes:
    """The key in a recovery code, or a ValidationError naming the first wrong group."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    cleaned = "".join(_READ_AS.get(ch, ch) for ch in cleaned)
    if len(cleaned) != 5 * _GROUPS or any(ch not in ALPHABET for ch in cleaned):
        raise ValidationError(FIELD, f"{_GROUPS} groups of 5 letters and digits, as printed")
    symbols: list[int] = []
    for g in range(_GROUPS):
        values = [ALPHABET.index(ch) for ch in cleaned[5 * g : 5 * g + 5]]
        if _check(g + 1, values[:4]) != values[4]:
            raise ValidationError(FIELD, f"group {g + 1} has a typing error: check it again")
        symbols.extend(values[:4])
    number = 0
    for v in symbols:
        number = number << 5 | v
    if number & 0xF:
        raise ValidationError(FIELD, "the last group does not end a valid code")
    return (number >> 4).to_bytes(32, "big")


def looks_like_code(text: str) -> bool:
    """True when what was typed is shaped like a recovery code (groups split by dashes or
    spaces) rather than a passphrase."""
    parts = re.split(r"[\s-]+", text.strip())
    return len(parts) == _GROUPS and all(len(p) == 5 and p.isalnum() for p in parts)
