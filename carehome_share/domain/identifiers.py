"""NHS number, ODS code and NMC PIN: parsing, checking and display."""

import itertools
import re
from collections.abc import Iterator

from carehome_share.domain.errors import ValidationError

_NHS_WEIGHTS = range(10, 1, -1)


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits; None when no valid number has them (remainder 10)."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_numbers_in_test_range(start: int = 1) -> Iterator[str]:
    """Valid NHS numbers from the range reserved for testing (999...), for demos and tests."""
    for n in itertools.count(start):
        first_nine = f"999{n:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"


def parse_nhs_number(value: object, field: str = "nhs_number") -> str:
    """Return the ten digits of an NHS number typed with or without spaces or dashes."""
    expected = "an NHS number of 10 digits with a valid Modulus 11 check digit, e.g. 999 000 0018"
    if not isinstance(value, str):
        raise ValidationError(field, expected)
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"[0-9]{10}", digits):
        raise ValidationError(field, expected)
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise ValidationError(field, expected + " (the check digit does not match)")
    return digits


def format_nhs_number(digits: str) -> str:
    """Show an NHS number the NHS way: 3-3-4."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def parse_ods_code(value: object, field: str = "ods_code") -> str:
    """An ODS organisation code: GP practices are a letter and five digits (e.g. Y01234)."""
    expected = "an ODS code of 3 to 6 letters and digits starting with a letter, e.g. Y01234"
    if not isinstance(value, str) or not value.isascii():
        raise ValidationError(field, expected)
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z][A-Z0-9]{2,5}", code):
        raise ValidationError(field, expected)
    return code


def parse_nmc_pin(value: object, field: str = "nmc_pin") -> str:
    """An NMC PIN: two digits, a letter, four digits and a letter (NNLNNNNL), e.g. 12A3456E."""
    expected = (
        "an NMC PIN of the form NNLNNNNL (two digits, letter, four digits, letter), e.g. 12A3456E"
    )
    if not isinstance(value, str) or not value.isascii():
        raise ValidationError(field, expected)
    pin = value.strip().upper()
    if not re.fullmatch(r"[0-9]{2}[A-Z][0-9]{4}[A-Z]", pin):
        raise ValidationError(field, expected)
    return pin
