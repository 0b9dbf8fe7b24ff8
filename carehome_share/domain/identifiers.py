"""NHS number, ODS code and NMC PIN: parsing, checking and display."""

import itertools
import re
from collections.abc import Iterator
from datetime import date

from nhs_number import (
    REGION_ENGLAND_WALES_IOM,
    REGION_NORTHERN_IRELAND,
    REGION_SCOTLAND,
    NhsNumber,
    calculate_checksum,
    is_valid,
)

from carehome_share.domain.errors import ValidationError

# The schemes that number people registered with a GP in the UK, as the NHS Data Dictionary and
# Scotland's CHI give them (the `nhs-number` package keeps the ranges): Ireland's IHI, the
# reserved, unallocated and synthetic ranges issue no one a number.
_ISSUED = (REGION_ENGLAND_WALES_IOM, REGION_SCOTLAND, REGION_NORTHERN_IRELAND)
TEST_RANGE = "999"  # reserved for testing: accepted in demo and training databases only


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for nine digits; None when no valid number has them (remainder 10)."""
    check = calculate_checksum(first_nine)
    return None if check == 10 else check


def nhs_numbers_in_test_range(start: int = 1) -> Iterator[str]:
    """Valid NHS numbers from the range reserved for testing (999...), for demos and tests."""
    for n in itertools.count(start):
        first_nine = f"{TEST_RANGE}{n:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"


def parse_nhs_number(value: object, field: str = "nhs_number", *, test_range: bool = False) -> str:
    """The ten digits of an NHS number typed with or without spaces or dashes, from a range a UK
    scheme issues (`test_range`: or from the 999 range reserved for testing)."""
    digits = re.sub(r"[\s-]", "", value) if isinstance(value, str) else ""
    if not digits.isascii() or not digits.isdigit():
        raise ValidationError(
            field, "an NHS number is 10 digits, with no letters or other signs, e.g. 999 000 0018"
        )
    if len(digits) != 10:
        raise ValidationError(field, f"an NHS number has 10 digits, not {len(digits)}")
    if nhs_check_digit(digits[:9]) != int(digits[9]):
        raise ValidationError(
            field, "the last digit does not match the others: check for a typing error"
        )
    if digits.startswith(TEST_RANGE) and test_range:
        return digits
    region = NhsNumber(digits).region
    if region not in _ISSUED:
        kind = region.label if region else "outside every range"
        raise ValidationError(
            field,
            "an NHS number that a UK scheme issues (England, Wales and the Isle of Man; "
            f"Scotland's CHI; Northern Ireland's H&C): {format_nhs_number(digits)} is in the "
            f"range '{kind}'"
            + (
                f"; {TEST_RANGE} numbers are for testing, accepted in a demo or training "
                "database only"
                if digits.startswith(TEST_RANGE)
                else ""
            ),
        )
    if not is_valid(digits):
        raise ValidationError(
            field,
            "a CHI number (Scotland) that starts with a date of birth as DDMMYY: "
            f"{digits[:6]} is not a date",
        )
    return digits


def check_chi_date_of_birth(nhs_number: str, born: date, field: str = "nhs_number") -> None:
    """A CHI number (Scotland) starts with its holder's date of birth as DDMMYY."""
    if REGION_SCOTLAND.contains_number(nhs_number) and nhs_number[:6] != f"{born:%d%m%y}":
        raise ValidationError(
            field,
            f"a CHI number and a date of birth that agree: the number starts {nhs_number[:6]} "
            f"(DDMMYY), the date of birth {born:%d/%m/%Y} gives {born:%d%m%y}",
        )


def format_nhs_number(digits: str) -> str:
    """Show an NHS number the NHS way: 3-3-4."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def _code(value: object, field: str, pattern: str, expected: str) -> str:
    """An identifier typed in any case, with spaces around it, checked against its pattern."""
    if not isinstance(value, str) or not value.isascii():
        raise ValidationError(field, expected)
    code = value.strip().upper()
    if not re.fullmatch(pattern, code):
        raise ValidationError(field, expected)
    return code


def parse_ods_code(value: object, field: str = "ods_code") -> str:
    """An ODS organisation code: GP practices are a letter and five digits (e.g. Y01234)."""
    expected = "an ODS code of 3 to 6 letters and digits starting with a letter, e.g. Y01234"
    return _code(value, field, r"[A-Z][A-Z0-9]{2,5}", expected)


def parse_home_ods_code(value: object, field: str = "home_ods_code") -> str:
    """A care home's ODS organisation code: 3 to 6 letters and digits (ODS gives care homes
    and their providers codes such as VM123 or 8JT47, which may start with a digit)."""
    expected = "an ODS organisation code of 3 to 6 letters and digits, e.g. VM123"
    return _code(value, field, r"[A-Z0-9]{3,6}", expected)


def parse_cqc_location_id(value: object, field: str = "cqc_location_id") -> str:
    """A Care Quality Commission location ID: "1-" and digits, e.g. 1-123456789."""
    expected = 'a CQC location ID: "1-" followed by 6 to 11 digits, e.g. 1-123456789'
    return _code(value, field, r"1-[0-9]{6,11}", expected)


def parse_nmc_pin(value: object, field: str = "nmc_pin") -> str:
    """An NMC PIN: two digits, a letter, four digits and a letter (NNLNNNNL), e.g. 12A3456E."""
    expected = (
        "an NMC PIN of the form NNLNNNNL (two digits, letter, four digits, letter), e.g. 12A3456E"
    )
    return _code(value, field, r"[0-9]{2}[A-Z][0-9]{4}[A-Z]", expected)
