"""Bad input, generated: every service input gets any Unicode, empty and huge strings, wrong
dates, malformed identifiers, SQL and control characters. Expected outcome of every call: it
succeeds, or raises ValidationError naming one of its own inputs, and a refused call leaves
every table exactly as it was. Passwords get the same, after a strong start so that the odd
characters reach the key slot's argon2id. Also: repeated wrong passwords lock an account, and
any password typed at the login is a wrong password, never a crash.
"""

from collections.abc import Callable
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carehome_share.domain.errors import AccessRefused, AuthenticationFailed, ValidationError
from carehome_share.services import access, auth, consent, practices, residents, staff
from carehome_share.services import settings as home_settings
from carehome_share.store import audit
from tests.conftest import Clock
from tests.factories import MANAGER_PASSWORD, ODS, PASSWORD, Home

CHECKED = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "",
    " ",
    "\t",
    "\n",
    "a\nb",
    "\x00",
    "Ann\x07",
    "\x1b[31mred",
    "\x7f",
    "\x85",
    "\u2028",
    "\ud800",
    "\udfff",
    "\u202egnp.exe",
    "\u200fRTL\u200e",
    "\u200b",
    "\ufeff",
    "😀👩‍⚕️",
    "Zoë Ó Briain-Nguyễn 李",
    "Robert'); DROP TABLE resident;--",
    "' OR '1'='1",
    '" OR ""="',
    "%s %d {0}",
    "NULL",
    "\uff11\uff12\uff13",
    "٠١٢٣٤٥٦٧٨٩",
    "A" * 10_000,
    "é" * 81,
    "x" * 1_000_001,
]
ANY_TEXT = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=()), max_size=30),  # lone surrogates included
    st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs", "Mn"]), max_size=10),
    st.text(max_size=300),
)
NOT_TEXT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
ANYTHING = st.one_of(ANY_TEXT, NOT_TEXT)
DATES = st.one_of(
    st.sampled_from(
        [
            "1940-02-30",
            "2023-02-29",
            "1940-13-01",
            "0000-01-01",
            "01/01/1940",
            "1940/01/01",
            "1940-1-1",
            "19400101",
            "1 January 1940",
            "2026-11-21T10:00",
            "2026-11-21T25:00",
            "2026-11-21 10:00:00+05:00",
            " 2026-11-01 ",
            "9999-12-31",
            "2026-11-01'; DROP TABLE stay;--",
        ]
    ),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.dates().map(date.isoformat),
    st.datetimes().map(datetime.isoformat),
    ANYTHING,
)
NHS = st.one_of(
    st.sampled_from(["999 000 0018", "9990000018", "999-000-0018", "999 000 0026", "0000000000"]),
    st.from_regex(r"999[0-9 -]{7,9}", fullmatch=True),
    ANYTHING,
)
ODS_CODES = st.one_of(
    st.sampled_from([ODS, "y01234", " Y01234 ", "Y99999", "B86012", "\uff3901234", "Y0123\u0130"]),
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{1,6}", fullmatch=True),
    ANYTHING,
)
NMC_PINS = st.one_of(
    st.sampled_from(["12A3456E", "12a3456e", "1234567", "12A3456", "\uff11\uff12A3456E"]),
    st.from_regex(r"[0-9]{2}[A-Za-z][0-9]{4}[A-Za-z]", fullmatch=True),
    ANYTHING,
)
ROLES = st.one_of(
    st.sampled_from([["nurse"], ["carer"], ["manager", "nurse"], "carer,nurse", [], ["surgeon"]]),
    ANYTHING,
)
PURPOSES = st.one_of(st.sampled_from(["medication_check", "gossip"]), ANYTHING)
RESIDENT_IDS = st.one_of(st.integers(min_value=-2, max_value=5), ANYTHING)
STAFF_IDS = st.one_of(st.integers(min_value=-2, max_value=5), ANYTHING)

PASSWORDS = st.one_of(
    st.sampled_from(["1234567890", "password12", "a long password", "Staff Member 3 pw"]),
    ANYTHING,
    ANY_TEXT.map(lambda tail: "correct horse battery " + tail),
)


def _snapshot(home: Home) -> dict[str, list[tuple]]:
    conn = home.ctx.conn
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {n: conn.execute(f"SELECT * FROM {n} ORDER BY rowid").fetchall() for n in names}


def _either_succeeds_or_names(home: Home, fields: set[str], call: Callable[[], object]) -> None:
    """The call succeeds, or raises ValidationError naming one of `fields`, changing nothing."""
    before = _snapshot(home)
    try:
        call()
    except ValidationError as bad:
        assert bad.field in fields, f"{bad.field!r} is not one of {sorted(fields)}: {bad}"
        assert str(bad).startswith(f"{bad.field}: ")
        assert _snapshot(home) == before
    assert not home.ctx.conn.in_transaction


@pytest.fixture
def resident_home(home: Home) -> Home:
    home.resident = home.add_resident()  # type: ignore[attr-defined]
    return home


@CHECKED
@given(nhs=NHS, given_name=ANY_TEXT, family_name=ANY_TEXT, born=DATES, ods=ODS_CODES, room=ANYTHING)
def test_add_resident(home: Home, nhs, given_name, family_name, born, ods, room) -> None:
    _either_succeeds_or_names(
        home,
        {"nhs_number", "given_name", "family_name", "date_of_birth", "ods_code", "room"},
        lambda: residents.add_resident(home.ctx, nhs, given_name, family_name, born, ods, room),
    )


@CHECKED
@given(
    rid=RESIDENT_IDS,
    changes=st.fixed_dictionaries(
        {},
        optional={
            "given_name": ANY_TEXT,
            "family_name": ANY_TEXT,
            "date_of_birth": DATES,
            "ods_code": ODS_CODES,
            "room": ANYTHING,
        },
    ),
)
def test_update_resident(resident_home: Home, rid, changes) -> None:
    fields = {"resident_id", *changes}
    _either_succeeds_or_names(
        resident_home, fields, lambda: residents.update_resident(resident_home.ctx, rid, **changes)
    )


@CHECKED
@given(
    rid=RESIDENT_IDS,
    admitted=DATES,
    discharged=DATES,
    kind=st.one_of(st.sampled_from(["long_term", "respite"]), ANYTHING),
)
def test_admit_and_discharge(resident_home: Home, rid, admitted, discharged, kind) -> None:
    # "admitted_at" and "discharged_at" are the names the forms show for the `at` input.
    _either_succeeds_or_names(
        resident_home,
        {"resident_id", "admitted_at", "kind"},
        lambda: residents.admit(resident_home.ctx, rid, admitted, kind),
    )
    _either_succeeds_or_names(
        resident_home,
        {"resident_id", "discharged_at"},
        lambda: residents.discharge(resident_home.ctx, rid, discharged),
    )


@CHECKED
@given(
    username=st.one_of(st.from_regex(r"[a-z][a-z0-9._-]{0,12}", fullmatch=True), ANYTHING),
    full_name=ANY_TEXT,
    roles=ROLES,
    password=st.one_of(st.just("a long password"), ANYTHING),
    pin=st.one_of(st.none(), NMC_PINS),
    checked=st.one_of(st.none(), DATES),
    expires=st.one_of(st.none(), DATES),
    signed=st.one_of(st.none(), DATES),
)
def test_add_staff(
    home: Home, username, full_name, roles, password, pin, checked, expires, signed
) -> None:
    fields = {
        "username",
        "full_name",
        "roles",
        "password",
        "nmc_pin",
        "nmc_checked_on",
        "nmc_expires_on",
        "confidentiality_signed_on",
        "ig_training_on",
    }
    _either_succeeds_or_names(
        home,
        fields,
        lambda: staff.add_staff(
            home.ctx,
            username,
            full_name,
            roles,
            password,
            nmc_pin=pin,
            nmc_checked_on=checked,
            nmc_expires_on=expires,
            confidentiality_signed_on=signed,
            ig_training_on=signed,
        ),
    )


@CHECKED
@given(name=ANY_TEXT, ods=ODS_CODES, phone=ANYTHING)
def test_add_practice(home: Home, name, ods, phone) -> None:
    _either_succeeds_or_names(
        home,
        {"name", "ods_code", "phone"},
        lambda: practices.add_practice(home.ctx, name, ods, phone),
    )


@CHECKED
@given(
    ods=ODS_CODES,
    starts=DATES,
    ends=st.one_of(st.none(), DATES),
    review=st.one_of(st.none(), DATES),
    purposes=st.one_of(st.lists(PURPOSES, max_size=3), ANYTHING),
    sections=st.one_of(st.lists(st.sampled_from(["summary", "x-ray"]), max_size=3), ANYTHING),
    home_signatory=ANY_TEXT,
    practice_signatory=ANY_TEXT,
)
def test_add_agreement(
    home: Home, ods, starts, ends, review, purposes, sections, home_signatory, practice_signatory
) -> None:
    _either_succeeds_or_names(
        home,
        {
            "ods_code",
            "starts_on",
            "ends_on",
            "review_on",
            "purposes",
            "sections",
            "home_signatory",
            "practice_signatory",
        },
        lambda: practices.add_agreement(
            home.ctx,
            ods,
            starts_on=starts,
            ends_on=ends,
            review_on=review,
            purposes=purposes,
            sections=sections,
            home_signatory=home_signatory,
            practice_signatory=practice_signatory,
        ),
    )


CONSENT_TEXT = st.one_of(st.just(""), ANY_TEXT, NOT_TEXT)


@CHECKED
@given(
    rid=RESIDENT_IDS,
    kind=st.one_of(st.sampled_from(["granted", "withdrawn", "refused"]), ANYTHING),
    decided_by=st.one_of(st.sampled_from(["resident", "lpa_attorney", "best_interests"]), ANYTHING),
    dated=st.fixed_dictionaries(
        {},
        optional={
            "decided_on": DATES,
            "capacity_assessed_on": DATES,
            "review_on": DATES,
            "expires_on": DATES,
            "lpa_registered_on": DATES,
            "authority_seen_on": DATES,
        },
    ),
    texts=st.fixed_dictionaries(
        {},
        optional={
            "representative_name": CONSENT_TEXT,
            "representative_relationship": CONSENT_TEXT,
            "authority_reference": CONSENT_TEXT,
            "capacity_assessment": CONSENT_TEXT,
            "people_consulted": CONSENT_TEXT,
            "witness": CONSENT_TEXT,
            "reason": CONSENT_TEXT,
            "impairment_detail": CONSENT_TEXT,
            "support_steps": CONSENT_TEXT,
            "capacity_assessed_by": CONSENT_TEXT,
            "authority_seen_by": CONSENT_TEXT,
            "known_wishes": CONSENT_TEXT,
        },
    ),
    lacks_capacity=st.one_of(st.booleans(), ANYTHING),
    findings=st.fixed_dictionaries(
        {},
        optional={
            "has_capacity": st.one_of(st.booleans(), ANYTHING),
            "impairment": st.one_of(st.none(), st.booleans(), ANYTHING),
            "unable_to": st.one_of(
                st.lists(st.sampled_from(["understand", "retain", "weigh", "communicate"])),
                ANYTHING,
            ),
        },
    ),
)
def test_record_consent(
    resident_home: Home, rid, kind, decided_by, dated, texts, lacks_capacity, findings
) -> None:
    fields = {
        "resident_id",
        "kind",
        "decided_by",
        "lacks_capacity",
        "decided_on",
        "capacity_assessed_on",
        "review_on",
        "expires_on",
        "representative_name",
        "representative_relationship",
        "authority_reference",
        "capacity_assessment",
        "people_consulted",
        "witness",
        "reason",
        "impairment",
        "impairment_detail",
        "unable_to",
        "has_capacity",
        "support_steps",
        "capacity_assessed_by",
        "lpa_registered_on",
        "authority_seen_on",
        "authority_seen_by",
        "known_wishes",
    }
    _either_succeeds_or_names(
        resident_home,
        fields,
        lambda: consent.record_consent(
            resident_home.ctx,
            rid,
            kind,
            decided_by,
            lacks_capacity=lacks_capacity,
            **dated,
            **texts,
            **findings,
        ),
    )


@pytest.fixture
def nurse_home(resident_home: Home) -> Home:
    resident_home.log_in(resident_home.add_nurse())
    return resident_home


@CHECKED
@given(rid=RESIDENT_IDS, purpose=PURPOSES, justification=ANYTHING)
def test_open_access_session(nurse_home: Home, rid, purpose, justification) -> None:
    def call() -> None:
        try:
            session = access.open_access_session(nurse_home.ctx, rid, purpose, justification)
        except AccessRefused:
            return  # a rule said no: recorded as a refusal, the GP can be phoned instead
        access.close_access_session(nurse_home.ctx, session.id)

    _either_succeeds_or_names(nurse_home, {"resident_id", "purpose", "justification"}, call)


@CHECKED
@given(
    rid=RESIDENT_IDS,
    spoke_to=ANYTHING,
    reason=ANYTHING,
    outcome=ANYTHING,
    refusal_id=st.one_of(st.none(), st.integers(-1, 3), ANYTHING),
)
def test_log_gp_contact(nurse_home: Home, rid, spoke_to, reason, outcome, refusal_id) -> None:
    _either_succeeds_or_names(
        nurse_home,
        {"resident_id", "spoke_to", "reason", "outcome", "refusal_id"},
        lambda: access.log_gp_contact(nurse_home.ctx, rid, spoke_to, reason, outcome, refusal_id),
    )


@CHECKED
@given(
    name=st.one_of(
        st.sampled_from(sorted(home_settings.SETTINGS | home_settings.IDENTIFIERS)), ANYTHING
    ),
    value=st.one_of(
        st.integers(-10, 2000),
        st.sampled_from(["²", "\uff11\uff12", " 30 ", "3.5", "1e2", "-5"]),
        st.from_regex(r" ?[0-9]{1,4} ?", fullmatch=True),
        ANYTHING,
    ),
)
def test_change_setting(home: Home, name, value) -> None:
    # A bad value is named by the setting's own name (the `name` input): "lockout_minutes: ...".
    named = home_settings.SETTINGS | home_settings.IDENTIFIERS
    fields = {"setting", *(named if isinstance(name, str) else ())}
    _either_succeeds_or_names(
        home, fields, lambda: home_settings.change_setting(home.ctx, name, value)
    )


@CHECKED
@given(new_password=PASSWORDS)
def test_reset_password(home: Home, new_password) -> None:
    nurse = home.add_nurse()
    _either_succeeds_or_names(
        home, {"new_password"}, lambda: staff.reset_password(home.ctx, nurse.id, new_password)
    )


@CHECKED
@given(current=st.one_of(st.just(MANAGER_PASSWORD), PASSWORDS), new_password=PASSWORDS)
def test_change_own_password(home: Home, current, new_password) -> None:
    def call() -> None:
        auth.change_own_password(home.ctx, current, new_password)
        auth.change_own_password(home.ctx, new_password, MANAGER_PASSWORD)  # for the next one

    _either_succeeds_or_names(home, {"current_password", "new_password"}, call)


@CHECKED
@given(staff_id=STAFF_IDS)
def test_clear_lockout(home: Home, staff_id) -> None:
    _either_succeeds_or_names(home, {"staff_id"}, lambda: staff.clear_lockout(home.ctx, staff_id))


@CHECKED
@given(
    username=st.one_of(st.sampled_from(["manager", "MANAGER ", "staff1"]), ANYTHING),
    password=PASSWORDS,
)
def test_log_in_with_anything_is_a_wrong_password(home: Home, username, password) -> None:
    auth.log_out(home.ctx)
    with pytest.raises(AuthenticationFailed):
        auth.log_in(home.ctx, username, password)
    assert home.ctx.login is None
    assert not home.ctx.conn.in_transaction
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome) in {("log_in", "denied"), ("lock_account", "allowed")}


# -- wrong passwords --------------------------------------------------------------------------


def test_more_than_ten_wrong_passwords_in_five_minutes_lock_the_account_each_one_logged(
    home: Home, clock: Clock
) -> None:
    nurse = home.add_nurse()
    auth.log_out(home.ctx)
    seen_before = len(audit.entries(home.ctx.conn))
    for _ in range(11):  # eleven tries within five minutes, with the default settings
        with pytest.raises(AuthenticationFailed):
            auth.log_in(home.ctx, nurse.username, "guessing wrong")
        clock.advance(seconds=25)
    with pytest.raises(AuthenticationFailed, match="locked until"):
        auth.log_in(home.ctx, nurse.username, PASSWORD)  # even the right one
    new = audit.entries(home.ctx.conn)[seen_before:]
    denied = [e for e in new if e.action == "log_in" and e.outcome == "denied"]
    assert len(denied) == 12 and all(e.actor_username == nurse.username for e in denied)
    assert all(e.reasons for e in denied)
    assert any(e.action == "lock_account" for e in new)
    clock.advance(minutes=16)
    assert auth.log_in(home.ctx, nurse.username, PASSWORD).staff.id == nurse.id


# -- lone surrogates (what an environment variable with invalid UTF-8 decodes to) -------------


def test_a_password_with_a_lone_surrogate_is_refused_naming_the_field(home: Home) -> None:
    before = _snapshot(home)
    with pytest.raises(ValidationError) as bad:
        staff.add_staff(home.ctx, "x.y", "X Y", ["carer"], "correct horse battery \udca3")
    assert bad.value.field == "password"
    assert _snapshot(home) == before


def test_a_lone_surrogate_typed_at_the_login_is_a_wrong_password(home: Home) -> None:
    auth.log_out(home.ctx)
    with pytest.raises(AuthenticationFailed, match="Wrong username or password"):
        auth.log_in(home.ctx, "manager", "\udca3 manager password")


@pytest.mark.parametrize("current", [None, 12345678901, b"manager password 1"])
def test_a_current_password_that_is_not_text_is_refused_naming_the_field(
    home: Home, current: object
) -> None:
    with pytest.raises(ValidationError) as bad:
        auth.change_own_password(home.ctx, current, "my own password 22")  # type: ignore[arg-type]
    assert bad.value.field == "current_password"
