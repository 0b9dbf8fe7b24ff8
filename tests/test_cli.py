"""The command line as a manager or a script drives it: exit codes, messages, JSON.

Commands run in-process through `cli.run`, secrets come from the environment, and the database
lives in the test's own folder. The conftest keychain is in memory, so `init` uses keychain mode
unless told to use a passphrase. The CLI works on the real clock, so every date is relative to
today. Only NHS numbers from the 999 range (reserved for testing) are used.
"""

import contextlib
import io
import itertools
import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import keyring
import pytest

from carehome_share import cli
from carehome_share.domain.identifiers import format_nhs_number, nhs_numbers_in_test_range
from carehome_share.domain.validation import uk_date
from carehome_share.store import keychain, recovery
from tests.conftest import MemoryKeyring

MANAGER_PASSWORD = "manager password 1"
STAFF_PASSWORD = "staff password 1"
PASSPHRASE = "correct horse battery staple"
PASSWORDS = {"mary": MANAGER_PASSWORD, "nina": STAFF_PASSWORD, "carl": STAFF_PASSWORD}
ENV_NEW_PASSWORD = "CAREHOME_SHARE_NEW_PASSWORD"
ALICE, BOB, CORA, DAN, NOBODY_HERE = itertools.islice(nhs_numbers_in_test_range(), 5)
CODE = re.compile(r"\b(?:[0-9A-Z]{5}-){12}[0-9A-Z]{5}\b")
HEAD = re.compile(r"chain head (\d+):([0-9a-f]{64})")
OPEN_SESSION = (
    "--purpose",
    "medication_check",
    "--justification",
    "Checking doses before the round",
)


def day(offset: int) -> str:
    """A UK calendar day relative to today, as the command line takes it (YYYY-MM-DD)."""
    return (uk_date(datetime.now(UTC)) + timedelta(days=offset)).isoformat()


class Ran(NamedTuple):
    code: int
    out: str
    err: str

    def json_out(self) -> object:
        return json.loads(self.out)

    def json_err(self) -> dict[str, object]:
        return json.loads(self.err)


class Cli:
    """Runs one command as a script would: secrets in the environment, output captured."""

    def __init__(self, db: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
        self.db = db
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        monkeypatch.delenv(cli.ENV_USER, raising=False)

    def __call__(
        self,
        *argv: str,
        user: str | None = None,
        password: str | None = None,
        passphrase: str | None = None,
        globals_first: bool = True,
    ) -> Ran:
        if password is None:
            password = PASSWORDS.get(user or "")
        env = {
            cli.ENV_PASSWORD: password or None,  # "" means: no password in the environment
            ENV_NEW_PASSWORD: STAFF_PASSWORD,
            cli.ENV_PASSPHRASE: passphrase,
        }
        for name, value in env.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        prefix = ["--db", str(self.db), *(["--user", user] if user else [])]
        args = [*prefix, *argv] if globals_first else list(argv)
        self.capsys.readouterr()
        code = cli.run(args)
        out, err = self.capsys.readouterr()
        return Ran(code, out, err)

    def ok(self, *argv: str, **kwargs: object) -> Ran:
        ran = self(*argv, **kwargs)  # type: ignore[arg-type]
        assert ran.code == 0, ran.err
        return ran


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Cli:
    return Cli(tmp_path / "rose-court.db", monkeypatch, capsys)


def init(run: Cli, *extra: str, passphrase: str | None = None) -> str:
    """Create the database and the first manager; return the recovery code printed."""
    ran = run.ok(
        "init",
        "--home",
        "Rose Court Care Home",
        "--manager",
        "mary",
        "--manager-name",
        "Mary Manager",
        *extra,
        password=MANAGER_PASSWORD,
        passphrase=passphrase,
    )
    codes = CODE.findall(ran.out)
    assert len(codes) == 1, ran.out
    return codes[0]


def add_practice_and_agreement(run: Cli) -> None:
    run.ok("practice", "add", "--name", "Riverside Surgery", "--ods-code", "Y01234", user="mary")
    run.ok(
        "agreement",
        "add",
        "--ods-code",
        "y01234",
        "--starts-on",
        day(-365),
        "--ends-on",
        day(365),
        "--purposes",
        "medication_check,clinical_assessment",
        "--sections",
        "summary,medications,allergies",
        "--home-signatory",
        "Mary Manager",
        "--practice-signatory",
        "Dr Priya Practice",
        user="mary",
    )


def add_staff(run: Cli, username: str, name: str, roles: str, *nmc: str) -> None:
    run.ok("staff", "add", username, "--name", name, "--roles", roles, *nmc, user="mary")


def add_nurse(run: Cli) -> None:
    add_staff(
        run,
        "nina",
        "Nina Nurse",
        "nurse",
        "--nmc-pin",
        "12A3456E",
        "--nmc-checked-on",
        day(-30),
        "--nmc-expires-on",
        day(300),
    )


def add_resident(
    run: Cli,
    nhs: str,
    name: str,
    *,
    admitted: str | None = None,
    discharged: str | None = None,
    consent: bool = True,
) -> None:
    given, family = name.split()
    run.ok(
        "resident",
        "add",
        "--nhs",
        format_nhs_number(nhs),
        "--given-name",
        given,
        "--family-name",
        family,
        "--date-of-birth",
        "1938-05-17",
        "--ods-code",
        "Y01234",
        user="mary",
    )
    if admitted:
        run.ok("resident", "admit", "--nhs", nhs, "--at", admitted, user="mary")
    if discharged:
        run.ok("resident", "discharge", "--nhs", nhs, "--at", discharged, user="mary")
    if consent:
        run.ok(
            "consent", "record", "--nhs", nhs, "--kind", "granted", "--decided-by", "resident",
            user="mary",
        )  # fmt: skip


def build_rose_court(run: Cli) -> str:
    """Rose Court: a manager (mary), a practice with an agreement, nurse nina, carer carl, and
    Alice, admitted three days ago with her consent. Returns the recovery code."""
    code = init(run)
    add_practice_and_agreement(run)
    add_nurse(run)
    add_staff(run, "carl", "Carl Carer", "carer")
    add_resident(run, ALICE, "Alice Able", admitted=day(-3))
    return code


class _Capture:
    """capsys's `readouterr` for the module-scoped template, which cannot use capsys."""

    def __init__(self) -> None:
        self._out, self._err = io.StringIO(), io.StringIO()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(self._out))
        self._stack.enter_context(contextlib.redirect_stderr(self._err))

    def readouterr(self) -> tuple[str, str]:
        out, err = self._out.getvalue(), self._err.getvalue()
        for buffer in (self._out, self._err):
            buffer.seek(0)
            buffer.truncate()
        return out, err

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="module")
def rose_court_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Rose Court built once through the command line; each test works on its own copy."""
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    capture = _Capture()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            run = Cli(tmp_path_factory.mktemp("template") / "rose-court.db", monkeypatch, capture)
            code = build_rose_court(run)
    finally:
        capture.close()
        keyring.set_keyring(previous)
    return run.db, code


@pytest.fixture
def recovery_code(run: Cli, rose_court_template: tuple[Path, str]) -> str:
    """A copy of Rose Court at the test's own path, its key in the test's keychain."""
    template, code = rose_court_template
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{run.db}{suffix}")
    keychain.store_key(str(run.db.resolve()), recovery.decode(code))
    return code


def refusal(ran: Ran) -> tuple[list[str], int]:
    """The reasons and refusal number a refused `session open` printed."""
    assert ran.code == cli.EXIT_REFUSED, ran.err
    assert ran.out == ""
    first = ran.err.strip().splitlines()[0]
    assert first.startswith("REFUSED: ")
    match = re.search(r"gp-contact log --refusal-id (\d+)", ran.err)
    assert match, ran.err
    return first.removeprefix("REFUSED: ").split("; "), int(match.group(1))


def chain_head(run: Cli) -> str:
    ran = run.ok("verify")
    match = HEAD.search(ran.out)
    assert match, ran.out
    return f"{match.group(1)}:{match.group(2)}"


# -- init --------------------------------------------------------------------------------------


def test_init_shows_the_recovery_code_once_and_the_file_is_encrypted(run: Cli, memory_keyring):
    code = init(run)

    assert recovery.decode(code)  # a well-formed code, as printed on the recovery sheet
    assert len(memory_keyring.entries) == 1  # the key went to the keychain
    for written in run.db.parent.iterdir():  # the database and anything beside it
        raw = written.read_bytes()
        assert b"SQLite format 3" not in raw
        assert b"Rose Court" not in raw and b"Mary Manager" not in raw
    with contextlib.closing(sqlite3.connect(run.db)) as plain, pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()

    again = run(
        "init", "--home", "Other", "--manager", "bob", "--manager-name", "Bob Other",
        password=MANAGER_PASSWORD,
    )  # fmt: skip
    assert again.code == cli.EXIT_LOCKED
    assert "already exists" in again.err
    assert not CODE.search(again.out + again.err)
    later = run.ok("verify")
    assert not CODE.search(later.out + later.err)
    assert "OK" in later.out


def test_init_in_passphrase_mode_keeps_no_key_in_the_keychain(run: Cli, memory_keyring):
    ran = run.ok(
        "--json",
        "init",
        "--home",
        "Rose Court Care Home",
        "--manager",
        "mary",
        "--manager-name",
        "Mary Manager",
        "--passphrase-mode",
        password=MANAGER_PASSWORD,
        passphrase=PASSPHRASE,
    )
    created = ran.json_out()
    assert created["key"] == "passphrase"
    assert Path(created["database"]) == run.db.resolve()
    assert memory_keyring.entries == {}

    assert "OK" in run.ok("verify", passphrase=PASSPHRASE).out
    locked = run("verify")
    assert locked.code == cli.EXIT_LOCKED
    assert "passphrase" in locked.err and "recovery code" in locked.err
    wrong = run("verify", passphrase="not the passphrase at all")
    assert wrong.code == cli.EXIT_LOCKED
    assert "Key mismatch" in wrong.err
    assert "OK" in run.ok("verify", "--recovery-code", created["recovery_code"]).out
    assert memory_keyring.entries == {}  # a passphrase database does not move into the keychain


# -- the whole working day ----------------------------------------------------------------------


def test_a_nurse_opens_a_session_ticks_sections_and_closes_it(run: Cli):
    init(run)
    add_practice_and_agreement(run)
    add_nurse(run)
    assert "Added Alice Able, NHS 999" in run.ok(
        "resident", "add", "--nhs", format_nhs_number(ALICE), "--given-name", "Alice",
        "--family-name", "Able", "--date-of-birth", "1938-05-17", "--ods-code", "Y01234",
        user="mary",
    ).out  # fmt: skip
    assert (
        "Admitted (long_term)"
        in run.ok("resident", "admit", "--nhs", ALICE, "--at", day(-1), user="mary").out
    )
    assert "Recorded: granted by the resident" in run.ok(
        "consent", "record", "--nhs", ALICE, "--kind", "granted", "--decided-by", "resident",
        user="mary",
    ).out  # fmt: skip

    opened = run.ok("--json", "session", "open", "--nhs", ALICE, *OPEN_SESSION, user="nina")
    session = opened.json_out()
    assert isinstance(session["id"], int)
    assert session["purpose"] == "medication_check"
    assert session["closed_at"] is None and session["sections"] == []
    session_id = str(session["id"])

    ticked = run.ok(
        "session", "sections", session_id, "--sections", "summary,medications", user="nina"
    )
    assert "viewed: summary, medications" in ticked.out
    closed = run.ok("session", "close", session_id, user="nina")
    assert f"Closed session {session_id}" in closed.out
    assert "closed" in closed.out and "OPEN" not in closed.out
    again = run("session", "close", session_id, user="nina")
    assert again.code == cli.EXIT_INPUT
    assert "session_id" in again.err

    mine = run.ok("session", "mine", user="nina")
    assert f"session {session_id}: Medication check" in mine.out

    verified = run.ok("verify")
    assert HEAD.search(verified.out)
    assert "OK: the file, its structure and the audit chain are intact" in verified.out
    trail = run.ok("--json", "audit", "list", "--nhs", ALICE, user="mary").json_out()
    actions = [(e["action"], e["outcome"], e["actor_username"]) for e in trail]
    assert ("open_access_session", "allowed", "nina") in actions
    assert ("record_sections_viewed", "allowed", "nina") in actions
    assert ("close_access_session", "allowed", "nina") in actions


# -- refusals -----------------------------------------------------------------------------------

NO_CONSENT = "no consent decision is recorded"
NOT_RESIDENT = "not currently resident (outside any admission)"


@pytest.mark.parametrize(
    ("nhs", "stay", "consent", "reasons"),
    [
        pytest.param(BOB, (day(-3), None), False, [NO_CONSENT], id="no-consent"),
        pytest.param(CORA, (day(-10), day(-2)), True, [NOT_RESIDENT], id="discharged"),
        pytest.param(DAN, (day(-10), day(-2)), False, [NOT_RESIDENT, NO_CONSENT], id="both"),
    ],
)
def test_a_refused_nurse_is_told_every_reason_and_can_log_a_gp_call(
    run: Cli, recovery_code: str, nhs: str, stay: tuple, consent: bool, reasons: list[str]
):
    admitted, discharged = stay
    add_resident(run, nhs, "Bea Refused", admitted=admitted, discharged=discharged, consent=consent)

    refused = run("session", "open", "--nhs", nhs, *OPEN_SESSION, user="nina")
    stated, refusal_id = refusal(refused)
    assert sorted(stated) == sorted(reasons)
    assert "Phone the GP practice instead" in refused.err

    logged = run.ok(
        "gp-contact", "log", "--nhs", nhs, "--spoke-to", "Practice nurse", "--reason",
        "Record access refused; needed current medication", "--outcome", "Medication list read out",
        "--refusal-id", str(refusal_id), user="nina",
    )  # fmt: skip
    assert re.fullmatch(r"GP contact \d+ logged\.\n", logged.out)
    bogus = run(
        "gp-contact", "log", "--nhs", nhs, "--spoke-to", "Reception", "--reason", "call",
        "--outcome", "none", "--refusal-id", str(refusal_id + 100), user="nina",
    )  # fmt: skip
    assert bogus.code == cli.EXIT_INPUT
    assert "refusal_id" in bogus.err


def test_refusal_as_json_carries_the_reasons_and_refusal_id(run: Cli, recovery_code: str):
    add_resident(run, BOB, "Bob Nobody", admitted=day(-3), consent=False)
    ran = run("--json", "session", "open", "--nhs", BOB, *OPEN_SESSION, user="nina")
    assert ran.code == cli.EXIT_REFUSED
    body = ran.json_err()
    assert body["reasons"] == [NO_CONSENT]
    assert isinstance(body["refusal_id"], int)
    assert ran.out == ""


def test_a_carer_cannot_open_a_gp_record(run: Cli, recovery_code: str):
    stated, _refusal_id = refusal(
        run("session", "open", "--nhs", ALICE, *OPEN_SESSION, user="carl")
    )
    assert "working as Carer, not as a registered nurse" in stated
    assert "no NMC PIN is recorded" in stated

    call = run(
        "gp-contact", "log", "--nhs", ALICE, "--spoke-to", "Reception", "--reason", "r",
        "--outcome", "o", user="carl",
    )  # fmt: skip
    assert call.code == cli.EXIT_REFUSED
    assert "not a carer" in call.err
    discharge = run("resident", "discharge", "--nhs", ALICE, user="carl")
    assert discharge.code == cli.EXIT_REFUSED
    assert "not a carer" in discharge.err
    assert "(current)" in run.ok("resident", "show", "--nhs", ALICE, user="mary").out


# -- logging in ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "password"),
    [("mary", "not my password"), ("nobody", MANAGER_PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_password_exits_2(run: Cli, recovery_code: str, user: str, password: str):
    ran = run("resident", "list", user=user, password=password)
    assert ran.code == cli.EXIT_INPUT
    assert "Wrong username or password" in ran.err
    assert ran.out == ""


def test_a_missing_user_is_named(run: Cli, recovery_code: str, monkeypatch):
    ran = run("resident", "list", password=MANAGER_PASSWORD)
    assert ran.code == cli.EXIT_INPUT
    assert "--user" in ran.err and cli.ENV_USER in ran.err
    assert ran.out == ""

    monkeypatch.setenv(cli.ENV_USER, "mary")
    assert "Alice Able" in run.ok("resident", "list", password=MANAGER_PASSWORD).out


def test_a_missing_password_is_named_when_there_is_no_terminal(run: Cli, recovery_code: str):
    ran = run("resident", "list", user="mary", password="")
    assert ran.code == cli.EXIT_INPUT
    assert cli.ENV_PASSWORD in ran.err


def test_global_options_are_accepted_after_the_command(run: Cli, recovery_code: str):
    ran = run.ok(
        "session", "open", "--nhs", ALICE, *OPEN_SESSION, "--user", "nina", "--db", str(run.db),
        "--json", globals_first=False, password=STAFF_PASSWORD,
    )  # fmt: skip
    assert ran.json_out()["purpose"] == "medication_check"
    listed = run.ok(
        "resident", "list", "--db", str(run.db), "--user", "carl", globals_first=False,
        password=STAFF_PASSWORD,
    )  # fmt: skip
    assert "Alice Able" in listed.out


# -- bad input ----------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param(
        ["resident", "add", "--nhs", "999 000 0019", "--given-name", "Eve", "--family-name",
         "Error", "--date-of-birth", "1940-01-01", "--ods-code", "Y01234"],
        "nhs_number", "check digit", id="nhs-check-digit",
    ),
    pytest.param(
        ["resident", "add", "--nhs", "99900", "--given-name", "Eve", "--family-name", "Error",
         "--date-of-birth", "1940-01-01", "--ods-code", "Y01234"],
        "nhs_number", "10 digits", id="nhs-too-short",
    ),
    pytest.param(
        ["practice", "add", "--name", "Hillside", "--ods-code", "12345"],
        "ods_code", "ODS code", id="ods-code",
    ),
    pytest.param(
        ["staff", "add", "nora", "--name", "Nora Nurse", "--roles", "nurse", "--nmc-pin",
         "12-345", "--nmc-checked-on", day(-1), "--nmc-expires-on", day(200)],
        "nmc_pin", "NMC PIN", id="nmc-pin",
    ),
    pytest.param(
        ["staff", "add", "nora", "--name", "Nora Nurse", "--roles", "nurse,doctor"],
        "roles", "one of", id="unknown-role",
    ),
    pytest.param(
        ["resident", "add", "--nhs", NOBODY_HERE, "--given-name", "Eve", "--family-name",
         "Error", "--date-of-birth", "21/11/1940", "--ods-code", "Y01234"],
        "date_of_birth", "YYYY-MM-DD", id="date-of-birth-uk-format",
    ),
    pytest.param(
        ["resident", "admit", "--nhs", NOBODY_HERE, "--at", "21/11/2026"],
        "nhs_number", "9990000", id="admit-unknown-resident",
    ),
    pytest.param(
        ["resident", "discharge", "--nhs", ALICE, "--at", "21/11/2026"],
        "discharged_at", "YYYY-MM-DD", id="discharge-uk-format",
    ),
    pytest.param(
        ["resident", "discharge", "--nhs", ALICE, "--at", day(-7)],
        "discharged_at", "after the admission", id="discharge-before-admission",
    ),
    pytest.param(
        ["agreement", "add", "--ods-code", "Y01234", "--starts-on", "01/01/2026", "--purposes",
         "medication_check", "--sections", "summary", "--home-signatory", "M",
         "--practice-signatory", "P"],
        "starts_on", "YYYY-MM-DD", id="agreement-start-uk-format",
    ),
    pytest.param(
        ["consent", "record", "--nhs", ALICE, "--kind", "granted", "--decided-by", "resident",
         "--decided-on", "21/11/2026"],
        "decided_on", "YYYY-MM-DD", id="consent-date-uk-format",
    ),
    pytest.param(
        ["resident", "show", "--nhs", NOBODY_HERE], "nhs_number", "resident here",
        id="show-unknown-resident",
    ),
    pytest.param(
        ["staff", "nmc-check", "nobody", "--checked-on", day(-1), "--expires-on", day(300)],
        "username", "nobody", id="unknown-staff",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "field", "hint"), BAD_INPUT)
def test_bad_input_exits_2_naming_the_field(
    run: Cli, recovery_code: str, argv: list[str], field: str, hint: str
):
    before = run.ok("--json", "audit", "list", "--last", "1000", user="mary").json_out()

    ran = run(*argv, user="mary")
    assert ran.code == cli.EXIT_INPUT
    assert ran.out == ""
    assert ran.err.startswith(f"error: {field}: ")
    assert hint in ran.err

    as_json = run("--json", *argv, user="mary")
    assert as_json.code == cli.EXIT_INPUT
    body = as_json.json_err()
    assert body["field"] == field
    assert hint in body["error"]

    after = run.ok("--json", "audit", "list", "--last", "1000", user="mary").json_out()
    changes = [e["action"] for e in after[len(before) :]]
    assert set(changes) <= {"log_in", "log_out"}, "a refused input must change nothing"
    assert "(current)" in run.ok("resident", "show", "--nhs", ALICE, user="mary").out


# -- verify and the chain head ------------------------------------------------------------------


def test_verify_with_an_earlier_head_is_ok_and_a_later_one_means_rolled_back(
    run: Cli, recovery_code: str
):
    earlier = chain_head(run)
    run.ok("resident", "list", user="carl")  # more audit entries after the printed report
    ran = run.ok("verify", "--head", earlier)
    assert "OK" in ran.out

    seq, digest = earlier.split(":")
    latest_seq = int(chain_head(run).split(":")[0])
    beyond = run("verify", "--head", f"{latest_seq + 5}:{digest}")
    assert beyond.code == 1
    assert "rolled back" in beyond.out
    as_json = run("--json", "verify", "--head", f"{latest_seq + 5}:{digest}")
    assert as_json.code == 1
    assert as_json.json_out()["ok"] is False

    rewritten = run("verify", "--head", f"{seq}:{'0' * 64}")
    assert rewritten.code == 1
    assert "rewritten" in rewritten.out

    malformed = run("verify", "--head", "yesterday")
    assert malformed.code == cli.EXIT_INPUT
    assert "head" in malformed.err


# -- the recovery code ----------------------------------------------------------------------------


def test_the_recovery_code_unlocks_after_the_keychain_entry_is_lost(
    run: Cli, recovery_code: str, memory_keyring
):
    memory_keyring.entries.clear()
    locked = run("resident", "list", user="mary")
    assert locked.code == cli.EXIT_LOCKED
    assert "recovery code" in locked.err

    groups = recovery_code.split("-")
    groups[2] = groups[2][:4] + ("0" if groups[2][4] != "0" else "1")
    typo = run("verify", "--recovery-code", "-".join(groups))
    assert typo.code == cli.EXIT_INPUT
    assert "group 3" in typo.err
    other = run("verify", "--recovery-code", recovery.encode(bytes(32)))
    assert other.code == cli.EXIT_LOCKED
    assert "Key mismatch" in other.err

    listed = run.ok("resident", "list", "--recovery-code", recovery_code.lower(), user="mary")
    assert "Alice Able" in listed.out
    assert len(memory_keyring.entries) == 1  # the key is put back in the keychain
    assert "OK" in run.ok("verify").out
