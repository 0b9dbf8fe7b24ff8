"""NHS numbers (Modulus 11, the ranges UK schemes issue, Scotland's CHI dates), ODS codes and
NMC PINs: what is accepted, what is refused, and why.

NHS numbers come from the 999 range (reserved for testing), or are generated with a valid check
digit in the range a test is about.
"""

import functools
import itertools
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from nhs_number import (
    REGION_ENGLAND_WALES_IOM,
    REGION_NORTHERN_IRELAND,
    REGION_SCOTLAND,
    NhsNumber,
    is_valid,
)

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import (
    check_chi_date_of_birth,
    format_nhs_number,
    nhs_check_digit,
    nhs_numbers_in_test_range,
    parse_nhs_number,
    parse_nmc_pin,
    parse_ods_code,
)
from tests.factories import nhs_number_starting

_FULL_WIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
VALID = list(itertools.islice(nhs_numbers_in_test_range(), 20))
# The 999 range reserved for testing, as a demo or training database takes it.
parse = functools.partial(parse_nhs_number, test_range=True)


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
    assert parse("9990000018") == "9990000018"
    assert nhs_check_digit("999000001") == 8


def test_test_range_numbers_are_valid_and_in_the_999_range() -> None:
    assert len(set(VALID)) == len(VALID)
    for number in VALID:
        assert number.startswith("999")
        assert len(number) == 10
        assert parse(number) == number


def test_check_digit_of_eleven_is_written_as_zero() -> None:
    """Remainder 0 gives 11 - 0 = 11, which the standard writes as check digit 0."""
    stem = next(
        f"999{n:06d}"
        for n in range(1_000_000)
        if sum(int(d) * w for d, w in zip(f"999{n:06d}", range(10, 1, -1), strict=True)) % 11 == 0
    )
    assert nhs_check_digit(stem) == 0
    assert parse(stem + "0") == stem + "0"


@pytest.mark.parametrize("number", VALID[:5])
def test_a_wrong_check_digit_is_refused(number: str) -> None:
    for digit in "0123456789":
        if digit == number[-1]:
            continue
        with pytest.raises(ValidationError) as caught:
            parse(number[:9] + digit)
        assert caught.value.field == "nhs_number"
        assert caught.value.expected == (
            "the last digit does not match the others: check for a typing error"
        )


def test_remainder_ten_numbers_can_never_be_valid() -> None:
    """When 11 - remainder is 10 there is no check digit: no tenth digit makes it valid."""
    first_nine = _first_nine_without_check_digit()
    for digit in "0123456789":
        with pytest.raises(ValidationError) as caught:
            parse(first_nine + digit)
        assert caught.value.field == "nhs_number"


@pytest.mark.parametrize(
    "typed",
    ["999 000 0018", "999-000-0018", " 999 000 0018 ", "999 - 000 - 0018", "9990000018"],
)
def test_spaces_and_dashes_are_accepted(typed: str) -> None:
    assert parse(typed) == "9990000018"


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
        parse(typed)
    assert caught.value.field == "nhs_number"


@pytest.mark.parametrize("value", [9990000018, None, b"9990000018", 999.0, ["9990000018"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(value)
    assert caught.value.field == "nhs_number"


def test_the_error_names_the_field_it_was_given() -> None:
    with pytest.raises(ValidationError) as caught:
        parse("123", field="resident_nhs_number")
    assert caught.value.field == "resident_nhs_number"
    assert str(caught.value).startswith("resident_nhs_number: ")


def test_format_is_three_three_four() -> None:
    assert format_nhs_number("9990000018") == "999 000 0018"
    for number in VALID:
        shown = format_nhs_number(number)
        assert [len(part) for part in shown.split(" ")] == [3, 3, 4]
        assert parse(shown) == number  # what is shown can be typed back


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
                parse(first_nine + digit)
    else:
        assert parse(f"{first_nine}{check}") == f"{first_nine}{check}"


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
        parse(changed)
    assert caught.value.field == "nhs_number"


# -- the ranges UK schemes issue, and Scotland's CHI dates --------------------------------------

ISSUED = {
    "England, Wales and the Isle of Man": nhs_number_starting("4"),
    "England, Wales and the Isle of Man, second range": nhs_number_starting("6"),
    "Northern Ireland": nhs_number_starting("32"),
    "Scotland (CHI), born 17/05/1938": nhs_number_starting("170538"),
    "Scotland (CHI), born 29/02/2000": nhs_number_starting("290200"),
}
NOT_ISSUED = {
    "unallocated, below CHI": (nhs_number_starting("005"), "Unallocated"),
    "unallocated, after CHI": (nhs_number_starting("3113"), "Unallocated"),
    "reserved": (nhs_number_starting("5"), "Reserved and not issued"),
    "Republic of Ireland": (nhs_number_starting("80"), "Republic of Ireland"),
    "unallocated, after Ireland": (nhs_number_starting("86"), "Unallocated"),
    "synthetic, not 999": (nhs_number_starting("90"), "Synthetic"),
}


@pytest.mark.parametrize("number", ISSUED.values(), ids=ISSUED.keys())
def test_numbers_from_the_ranges_uk_schemes_issue_are_accepted(number: str) -> None:
    assert parse_nhs_number(number) == number


@pytest.mark.parametrize(("number", "range_"), NOT_ISSUED.values(), ids=NOT_ISSUED.keys())
def test_numbers_no_uk_scheme_issues_are_refused_naming_the_range(number: str, range_: str) -> None:
    for allowed in (False, True):  # the test range is 999 only
        with pytest.raises(ValidationError) as caught:
            parse_nhs_number(number, test_range=allowed)
        assert caught.value.field == "nhs_number"
        assert "an NHS number that a UK scheme issues" in str(caught.value)
        assert range_ in str(caught.value) and format_nhs_number(number) in str(caught.value)


def test_the_999_test_range_is_accepted_only_where_allowed() -> None:
    """A home's database refuses the numbers reserved for testing; demo and training ones
    (`test_range`) take them."""
    with pytest.raises(ValidationError, match="999 numbers are for testing, accepted in a demo"):
        parse_nhs_number("999 000 0018")
    assert parse_nhs_number("999 000 0018", test_range=True) == "9990000018"


@pytest.mark.parametrize("day", ["310299", "300200", "290201", "311138", "171338"])
def test_a_chi_number_must_start_with_a_real_date(day: str) -> None:
    """The numbers the app took before: a valid check digit in the CHI range, but the first six
    digits (DDMMYY) are no date: 31 February, 30 February, 29 February 2001, 31 November, month 13."""
    number = nhs_number_starting(day)
    with pytest.raises(ValidationError) as caught:
        parse_nhs_number(number)
    assert caught.value.field == "nhs_number"
    assert f"{day} is not a date" in str(caught.value)


def test_a_chi_number_must_agree_with_the_date_of_birth() -> None:
    number = ISSUED["Scotland (CHI), born 17/05/1938"]
    check_chi_date_of_birth(number, date(1938, 5, 17))
    with pytest.raises(ValidationError) as caught:
        check_chi_date_of_birth(number, date(1938, 5, 18), "date_of_birth")
    assert caught.value.field == "date_of_birth"
    assert "the number starts 170538 (DDMMYY), the date of birth 18/05/1938 gives 180538" in str(
        caught.value
    )
    check_chi_date_of_birth(ISSUED["Northern Ireland"], date(1938, 5, 18))  # no date in it


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
@settings(max_examples=2000, deadline=None)
def test_what_is_accepted_is_what_the_nhs_number_package_calls_valid_in_a_uk_range(
    digits: str,
) -> None:
    """The `nhs-number` package follows the NHS Data Dictionary and Scotland's CHI rules; a
    number is accepted exactly when it is valid there and in a range a UK scheme issues."""
    region = NhsNumber(digits).region
    issued = region in (REGION_ENGLAND_WALES_IOM, REGION_SCOTLAND, REGION_NORTHERN_IRELAND)
    try:
        parse_nhs_number(digits)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (is_valid(digits) and issued)


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
