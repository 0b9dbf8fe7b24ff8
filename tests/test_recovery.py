"""Recovery codes: the printed code gives the key back, and typing mistakes are caught and placed."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carehome_share.domain.errors import ValidationError
from carehome_share.store import recovery
from carehome_share.store.recovery import ALPHABET, decode, encode, looks_like_code

KEYS = [
    bytes(32),
    b"\xff" * 32,
    bytes(range(32)),
    bytes.fromhex("5f1c9a0e37d24b6b8e10c4a2f9b35d7e0a6c8e1f2b4d6f8091a3c5e7f9b1d3e5"),
]
keys = st.binary(min_size=32, max_size=32)


def _groups(code: str) -> list[str]:
    return code.split("-")


def _error(code: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        decode(code)
    assert caught.value.field == "recovery_code"
    return caught.value


def _names_group(error: ValidationError, number: int) -> bool:
    return re.search(rf"\bgroup {number}\b", str(error)) is not None


@given(keys)
def test_round_trip(key: bytes) -> None:
    assert decode(encode(key)) == key


@pytest.mark.parametrize("key", KEYS)
def test_printed_shape(key: bytes) -> None:
    """Thirteen groups of five Crockford characters, separated by dashes."""
    code = encode(key)
    groups = _groups(code)
    assert len(groups) == 13
    assert all(len(g) == 5 and set(g) <= set(ALPHABET) for g in groups)
    assert not set("ILOU") & set(code)


def test_different_keys_give_different_codes() -> None:
    assert len({encode(k) for k in KEYS}) == len(KEYS)


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_only_32_byte_keys_can_be_encoded(length: int) -> None:
    with pytest.raises(ValueError):
        encode(bytes(length))


@pytest.mark.parametrize("key", KEYS)
def test_lower_case_and_spaces_are_accepted(key: bytes) -> None:
    code = encode(key)
    assert decode(code.lower()) == key
    assert decode(code.replace("-", " ")) == key
    assert decode(code.replace("-", "")) == key
    assert decode("  " + code.replace("-", " - ") + "\n") == key


def test_o_reads_as_zero_and_i_or_l_as_one() -> None:
    """People read 0 as O and 1 as I or L; the code means the same either way."""
    key = next(k for k in KEYS if {"0", "1"} <= set(encode(k)))
    code = encode(key)
    assert decode(code.replace("0", "O").replace("1", "I")) == key
    assert decode(code.replace("0", "o").replace("1", "l")) == key
    assert decode(code.replace("1", "L")) == key
    assert decode(code.replace("1", "i")) == key


@pytest.mark.parametrize("key", KEYS)
def test_every_single_substitution_is_caught_and_its_group_named(key: bytes) -> None:
    code = encode(key)
    groups = _groups(code)
    for g, group in enumerate(groups):
        for position, original in enumerate(group):
            for wrong in ALPHABET:
                if wrong == original:
                    continue
                typed = groups.copy()
                typed[g] = group[:position] + wrong + group[position + 1 :]
                error = _error("-".join(typed))
                assert _names_group(error, g + 1), (typed[g], str(error))


@given(keys, st.integers(0, 12), st.integers(0, 4), st.integers(1, 31))
def test_a_substitution_in_any_code_is_caught(
    key: bytes, group: int, position: int, shift: int
) -> None:
    groups = _groups(encode(key))
    chars = list(groups[group])
    chars[position] = ALPHABET[(ALPHABET.index(chars[position]) + shift) % 32]
    groups[group] = "".join(chars)
    assert _names_group(_error("-".join(groups)), group + 1)


@pytest.mark.parametrize("key", KEYS)
def test_two_swapped_groups_are_caught(key: bytes) -> None:
    """The check character depends on the position, so a group read in the wrong place fails."""
    groups = _groups(encode(key))
    for i in range(13):
        for j in range(i + 1, 13):
            typed = groups.copy()
            typed[i], typed[j] = typed[j], typed[i]
            # The first group out of place is the one named.
            assert _names_group(_error("-".join(typed)), i + 1)


@pytest.mark.parametrize("key", KEYS[:2])
def test_wrong_length_is_refused(key: bytes) -> None:
    code = encode(key)
    groups = _groups(code)
    for typed in [
        "",
        "-".join(groups[:-1]),  # a group left out
        "-".join([*groups, groups[-1]]),  # a group typed twice
        code[:-1],  # a character left out
        code + "0",  # a character too many
    ]:
        assert "13 groups" in str(_error(typed))


def test_characters_outside_the_alphabet_are_refused() -> None:
    """U is not in Crockford's alphabet; it is refused rather than guessed at."""
    code = encode(KEYS[0])
    assert "13 groups" in str(_error("U" + code[1:]))


def test_nonzero_padding_in_the_last_group_is_refused() -> None:
    """256 bits fill 52 symbols with four bits to spare; a code with those bits set is not ours."""
    groups = _groups(encode(KEYS[0]))
    values = [ALPHABET.index(ch) for ch in groups[12][:4]]
    values[3] |= 1  # set a padding bit, then give the group a check character that fits
    check = recovery._check(13, values)
    groups[12] = "".join(ALPHABET[v] for v in [*values, check])
    assert "last group" in str(_error("-".join(groups)))


@pytest.mark.parametrize("key", KEYS[:2])
def test_looks_like_code(key: bytes) -> None:
    code = encode(key)
    assert looks_like_code(code)
    assert looks_like_code(code.lower())
    assert looks_like_code(" " + code.replace("-", " - ") + " ")
    assert not looks_like_code("-".join(_groups(code)[:12]))
    assert not looks_like_code(code + "-ABCDE")
    assert not looks_like_code(code[:-1])


@pytest.mark.parametrize(
    "passphrase", ["", "correct horse battery staple", "a-very-long-pass-phrase-with-dashes"]
)
def test_passphrases_do_not_look_like_codes(passphrase: str) -> None:
    assert not looks_like_code(passphrase)
