"""NHS numbers (Modulus 11), ODS codes and NMC PINs: what is accepted, what is refused, and why.

Only NHS numbers from the 999 range (reserved for testing) are used.
"""

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import (
    format_nhs_number,
    nhs_check_digit,
    nhs_numbers_in_test_range,
    parse_nhs_number,
    parse_nmc_pin,
    parse_ods_code,
)

_FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
VALID = list(itertools.islice(nhs_numbers_in_test_range(), 20))


def _first_nine_without_check_digit() -> str:
    """The first nine digits in the 999 range whose Modulus 11 remainder gives 10."""
    for n in range(1_000_000):
        first_nine = f"999{n:06d}"
        if nhs_check_digit(first_nine) is None:
            return first_nine
    raise AssertionError("the 999 range has nine-digit stems with no check digit")


# -- NHS numbers --------------------------------------------------------------------------------


def test_the_documented_example_is_valid() -> None:
    """999 000 0018 is the number the error message shows; it must parse itself."""
    assert parse_nhs_number("9990000018") == "9990000018"
    assert nhs_check_digit("999000001") == 8


def test_test_range_numbers_are_valid_and_in_the_999_range() -> None:
    assert len(set(VALID)) == len(VALID)
    for number in VALID:
        assert number.startswith("999")
        assert len(number) == 10
        assert parse_nhs_number(number) == number


def test_check_digit_of_eleven_is_written_as_zero() -> None:
    """Remainder 0 gives 11 - 0 = 11, which the standard writes as check digit 0."""
    stem = next(
        f"999{n:06d}"
        for n in range(1_000_000)
        if sum(int(d) * w for d, w in zip(f"999{n:06d}", range(10, 1, -1), strict=True)) % 11 == 0
    )
    assert nhs_check_digit(stem) == 0
    assert parse_nhs_number(stem + "0") == stem + "0"


@pytest.mark.parametrize("number", VALID[:5])
def test_a_wrong_check_digit_is_refused(number: str) -> None:
    for digit in "0123456789":
        if digit == number[-1]:
            continue
        with pytest.raises(ValidationError) as caught:
            parse_nhs_number(number[:9] + digit)
        assert caught.value.field == "nhs_number"
        assert "check digit" in str(caught.value)


def test_remainder_ten_numbers_can_never_be_valid() -> None:
    """When 11 - remainder is 10 there is no check digit: no tenth digit makes it valid."""
    first_nine = _first_nine_without_check_digit()
    for digit in "0123456789":
        with pytest.raises(ValidationError) as caught:
            parse_nhs_number(first_nine + digit)
        assert caught.value.field == "nhs_number"


@pytest.mark.parametrize(
    "typed",
    ["999 000 0018", "999-000-0018", " 999 000 0018 ", "999 - 000 - 0018", "9990000018"],
)
def test_spaces_and_dashes_are_accepted(typed: str) -> None:
    assert parse_nhs_number(typed) == "9990000018"


@pytest.mark.parametrize(
    "typed",
    [
        "999000001",  # 9 digits
        "99900000180",  # 11 digits
        "999 000 001",
        "999 000 00180",
        "",
        "   ",
        "999O000018",  # letter O for zero
        "999.000.0018",  # dots are not separators
        "+9990000018",
        "9990000018\n1",
        "9990000018".translate(_FULL_WIDTH),  # full-width digits: not [0-9]
    ],
)
def test_wrong_shapes_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_nhs_number(typed)
    assert caught.value.field == "nhs_number"


@pytest.mark.parametrize("value", [9990000018, None, b"9990000018", 999.0, ["9990000018"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_nhs_number(value)
    assert caught.value.field == "nhs_number"


def test_the_error_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_nhs_number("123", field="resident_nhs_number")
    assert caught.value.field == "resident_nhs_number"
    assert str(caught.value).startswith("resident_nhs_number: ")


def test_format_is_three_three_four() -> None:
    assert format_nhs_number("9990000018") == "999 000 0018"
    for number in VALID:
        shown = format_nhs_number(number)
        assert [len(part) for part in shown.split(" ")] == [3, 3, 4]
        assert parse_nhs_number(shown) == number  # what is shown can be typed back


_six_digits = st.text(alphabet="0123456789", min_size=6, max_size=6)


@given(_six_digits)
def test_any_stem_with_a_check_digit_parses(six: str) -> None:
    """For any nine digits (kept in the 999 test range) whose check digit exists, it parses."""
    first_nine = "999" + six
    check = nhs_check_digit(first_nine)
    if check is None:
        # No valid number exists: every completion must be refused instead.
        for digit in "0123456789":
            with pytest.raises(ValidationError):
                parse_nhs_number(first_nine + digit)
    else:
        assert parse_nhs_number(f"{first_nine}{check}") == f"{first_nine}{check}"


@given(_six_digits, st.integers(0, 9), st.integers(1, 9))
def test_any_single_digit_change_is_rejected(six: str, position: int, shift: int) -> None:
    """Weights 1..10 and changes 1..9 are coprime with 11, so one changed digit is always caught."""
    first_nine = "999" + six
    check = nhs_check_digit(first_nine)
    assume(check is not None)  # about one stem in eleven has no valid number at all
    number = f"{first_nine}{check}"
    digits = list(number)
    digits[position] = str((int(digits[position]) + shift) % 10)
    changed = "".join(digits)
    assert changed != number
    with pytest.raises(ValidationError) as caught:
        parse_nhs_number(changed)
    assert caught.value.field == "nhs_number"


# -- ODS codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [("Y01234", "Y01234"), ("y01234", "Y01234"), ("  Y01234 ", "Y01234"), ("RXH", "RXH")],
)
def test_ods_codes_are_accepted_and_upper_cased(typed: str, code: str) -> None:
    assert parse_ods_code(typed) == code


@pytest.mark.parametrize(
    "typed",
    ["", "Y0", "Y012345", "01234Y", "Y01 234", "Y-1234", "Y0123£", "Ÿ01234"],
)
def test_bad_ods_codes_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_ods_code(typed)
    assert caught.value.field == "ods_code"


@pytest.mark.parametrize("value", [None, 1234, b"Y01234"])
def test_non_string_ods_codes_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_ods_code(value, field="practice_ods")
    assert caught.value.field == "practice_ods"


# -- NMC PINs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "pin"),
    [("12A3456E", "12A3456E"), ("12a3456e", "12A3456E"), (" 99Z0000W ", "99Z0000W")],
)
def test_nmc_pins_are_accepted_and_upper_cased(typed: str, pin: str) -> None:
    assert parse_nmc_pin(typed) == pin


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12A3456",  # no final letter
        "12A34567E",  # five digits
        "12A345E",  # three digits
        "1A23456E",  # one leading digit
        "123A456E",  # three leading digits
        "12A3456EE",
        "AB12345E",
        "12 A3456E",
        "12-A3456E",
        "123456789",
    ],
)
def test_bad_nmc_pins_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_nmc_pin(typed)
    assert caught.value.field == "nmc_pin"
    assert "NNLNNNNL" in str(caught.value)


@pytest.mark.parametrize("value", [None, 12, b"12A3456E"])
def test_non_string_nmc_pins_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_nmc_pin(value)
    assert caught.value.field == "nmc_pin"
