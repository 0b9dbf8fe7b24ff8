"""The command line as a manager or a script drives it: exit codes, messages, JSON.

Commands run in-process through `cli.run`, secrets come from the environment, and the database
lives in the test's own folder. Every command logs in: the person's password opens their key
slot with the device secret, which `init` put in the conftest's in-memory keychain. New staff
get a temporary password and choose their own first (`password change`), as the README says.
The CLI works on the real clock, so every date is relative to today. Only NHS numbers from the
999 range (reserved for testing) are used.
"""

import contextlib
import io
import itertools
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import keyring
import pytest
from keyring.backends import fail

from carehome_share import cli
from carehome_share.domain.identifiers import format_nhs_number, nhs_numbers_in_test_range
from carehome_share.domain.validation import uk_date
from carehome_share.store import keyslots, recovery
from tests.conftest import MemoryKeyring

MANAGER_PASSWORD = "manager password 1"
STAFF_PASSWORD = "staff password 1"
TEMPORARY_PASSWORD = "temporary from the manager 9"
PASSWORDS = {"mary": MANAGER_PASSWORD, "nina": STAFF_PASSWORD, "carl": STAFF_PASSWORD}
ENV_NEW_PASSWORD = "CAREHOME_SHARE_NEW_PASSWORD"
TEMPORARY = "has a temporary password: choose your own password first"
WRONG = "Wrong username or password"
# Beside the database: write-ahead log, key file, journal of logins tried while it was closed.
BESIDE = ("", "-wal", "-shm", ".keys", ".logins")
ALICE, BOB, CORA, DAN, NOBODY_HERE = itertools.islice(nhs_numbers_in_test_range(), 5)
REPO = Path(__file__).resolve().parents[1]
LARGEST = 2**63 - 1  # SQLite's largest whole number
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
        new_password: str = STAFF_PASSWORD,
        globals_first: bool = True,
    ) -> Ran:
        if password is None:
            password = PASSWORDS.get(user or "")
        env = {
            cli.ENV_PASSWORD: password or None,  # "" means: no password in the environment
            ENV_NEW_PASSWORD: new_password,
            cli.ENV_PASSPHRASE: None,  # only a 0.1 database in transition has one
            cli.ENV_RECOVERY_CODE: None,  # given as --recovery-code where a test means it
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


def init(run: Cli, *extra: str, home: str = "Rose Court Care Home") -> str:
    """Create the database and the first manager; return the recovery code printed. A training
    database: the only one besides `demo`'s that takes the 999 NHS numbers tests use."""
    ran = run.ok(
        "init",
        "--home",
        home,
        "--manager",
        "mary",
        "--manager-name",
        "Mary Manager",
        "--training",
        *extra,
        password=MANAGER_PASSWORD,
    )
    codes = CODE.findall(ran.out)
    assert len(codes) == 1, ran.out
    return codes[0]


def files_beside(db: Path) -> dict[str, bytes]:
    """The database and everything kept beside it, by name."""
    return {
        f"{db.name}{suffix}": Path(f"{db}{suffix}").read_bytes()
        for suffix in BESIDE
        if Path(f"{db}{suffix}").exists()
    }


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
    """The manager adds the account with a temporary password; the person's first login
    chooses their own (PASSWORDS), the only thing a temporary password may do."""
    added = run.ok(
        "staff", "add", username, "--name", name, "--roles", roles, *nmc, user="mary",
        new_password=TEMPORARY_PASSWORD,
    )  # fmt: skip
    assert "They choose their own password at first login." in added.out
    first_login(run, username, PASSWORDS[username])


def first_login(run: Cli, username: str, own: str, *role: str) -> None:
    changed = run.ok(
        "password", "change", *role, user=username, password=TEMPORARY_PASSWORD, new_password=own
    )
    assert changed.out == "Password changed.\n"


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


@dataclass(frozen=True)
class Template:
    db: Path
    code: str
    keychain: dict[tuple[str, str], str]  # the device secret `init` enrolled


@pytest.fixture(scope="module")
def rose_court_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """Rose Court built once through the command line; each test works on its own copy."""
    previous = keyring.get_keyring()
    keychain = MemoryKeyring()
    keyring.set_keyring(keychain)
    capture = _Capture()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            # argon2id at its smallest, as conftest does per test (module fixtures come first);
            # each slot keeps the cost it was made with, so the copies log in quickly too.
            monkeypatch.setattr(keyslots, "PASSWORD_KDF", keyslots.KdfParams(64, 1, 1))
            run = Cli(tmp_path_factory.mktemp("template") / "rose-court.db", monkeypatch, capture)
            code = build_rose_court(run)
    finally:
        capture.close()
        keyring.set_keyring(previous)
    return Template(run.db, code, dict(keychain.entries))


@pytest.fixture
def recovery_code(run: Cli, rose_court_template: Template, memory_keyring: MemoryKeyring) -> str:
    """A copy of Rose Court at the test's own path (with its key file), this PC enrolled: the
    device secret in the test's keychain. Returns its recovery code."""
    template = rose_court_template
    for suffix in BESIDE:
        if Path(f"{template.db}{suffix}").exists():
            shutil.copyfile(f"{template.db}{suffix}", f"{run.db}{suffix}")
    memory_keyring.entries.update(template.keychain)
    return template.code


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
    ran = run.ok("verify", user="mary")
    match = HEAD.search(ran.out)
    assert match, ran.out
    return f"{match.group(1)}:{match.group(2)}"


# -- init ---------------------------------------------------------------------------------------


def test_init_shows_the_recovery_code_once_and_the_file_is_encrypted(run: Cli, memory_keyring):
    code = init(run)

    key = recovery.decode(code)  # a well-formed code, as printed on the recovery sheet
    ((service, entry), device_secret), *others = memory_keyring.entries.items()
    assert not others  # the keychain holds one thing: the home's device secret
    assert service == "carehome-share" and entry.startswith("device:")
    assert key.hex() not in device_secret
    beside = files_beside(run.db)
    assert set(beside) == {run.db.name, f"{run.db.name}.keys"}
    for raw in beside.values():  # the database and the key file beside it
        assert b"SQLite format 3" not in raw
        assert b"Rose Court" not in raw and b"Mary Manager" not in raw
        assert key not in raw and key.hex().encode() not in raw
        assert MANAGER_PASSWORD.encode() not in raw
    with contextlib.closing(sqlite3.connect(run.db)) as plain, pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()

    again = run(
        "init", "--home", "Other", "--manager", "bob", "--manager-name", "Bob Other",
        password=MANAGER_PASSWORD,
    )  # fmt: skip
    assert again.code == cli.EXIT_LOCKED
    assert "already exists" in again.err
    assert not CODE.search(again.out + again.err)
    assert files_beside(run.db) == beside
    later = run.ok("verify", user="mary")
    assert not CODE.search(later.out + later.err)
    assert "OK" in later.out
    anonymous = run("verify")  # a login, or the recovery code: the file is not for anyone
    assert anonymous.code == cli.EXIT_INPUT
    assert "--user" in anonymous.err


def test_init_as_json_says_where_the_device_secret_went(run: Cli, memory_keyring):
    created = run.ok(
        "--json", "init", "--home", "Rose Court Care Home", "--manager", "mary",
        "--manager-name", "Mary Manager", password=MANAGER_PASSWORD,
    ).json_out()  # fmt: skip
    assert set(created) == {"database", "keychain", "recovery_code"}
    assert Path(created["database"]) == run.db.resolve()
    assert created["keychain"] is True
    assert CODE.fullmatch(created["recovery_code"])
    assert len(memory_keyring.entries) == 1


def test_without_a_secure_keychain_the_password_alone_opens_it(run: Cli, memory_keyring):
    keyring.set_keyring(fail.Keyring())  # conftest puts its own keychain back afterwards
    created = run.ok(
        "--json", "init", "--home", "Rose Court Care Home", "--manager", "mary",
        "--manager-name", "Mary Manager", password=MANAGER_PASSWORD,
    ).json_out()  # fmt: skip
    assert created["keychain"] is False
    assert memory_keyring.entries == {}
    assert "OK" in run.ok("verify", user="mary").out
    wrong = run("verify", user="mary", password="not my password at all")
    assert wrong.code != 0
    assert WRONG in wrong.err
    assert "OK" in run.ok("verify", "--recovery-code", created["recovery_code"]).out


def test_init_has_no_passphrase_mode_any_more(run: Cli, capsys):
    with pytest.raises(SystemExit) as usage:
        cli.run(
            [
                "--db", str(run.db), "init", "--home", "Rose Court Care Home", "--manager",
                "mary", "--manager-name", "Mary Manager", "--passphrase-mode",
            ]
        )  # fmt: skip
    assert usage.value.code == cli.EXIT_INPUT
    assert "--passphrase-mode" in capsys.readouterr().err
    assert not run.db.exists()


@pytest.mark.parametrize("weak", ["1234567890", "password12"])
def test_init_refuses_an_easily_guessed_password_naming_it(run: Cli, memory_keyring, weak: str):
    for as_json in (False, True):
        ran = run(
            *(["--json"] if as_json else []), "init", "--home", "Rose Court Care Home",
            "--manager", "mary", "--manager-name", "Mary Manager", password=weak,
        )  # fmt: skip
        assert ran.code == cli.EXIT_INPUT
        assert ran.out == ""
        assert not CODE.search(ran.err)
        said = ran.err.splitlines()[-1]  # after the line saying where the device secret goes
        if as_json:
            assert json.loads(said)["field"] == "password"
            assert "hard to guess" in json.loads(said)["error"]
        else:
            assert said.startswith("error: password: a password that is hard to guess")
        assert files_beside(run.db) == {}  # refused before anything was created
        assert memory_keyring.entries == {}
    init(run)  # the same command with a good password


def test_a_home_database_refuses_the_nhs_numbers_kept_for_testing(run: Cli):
    """`init` without --training makes a home's database: a 999 number is refused (exit 2),
    saying where such numbers are accepted; nothing is added."""
    run.ok(
        "init", "--home", "Rose Court Care Home", "--manager", "mary", "--manager-name",
        "Mary Manager", password=MANAGER_PASSWORD,
    )  # fmt: skip
    run.ok("practice", "add", "--name", "Riverside Surgery", "--ods-code", "Y01234", user="mary")
    ran = run(
        "resident", "add", "--nhs", ALICE, "--given-name", "Alice", "--family-name", "Able",
        "--date-of-birth", "1940-02-03", "--ods-code", "Y01234", user="mary",
    )  # fmt: skip
    assert ran.code == cli.EXIT_INPUT
    assert ran.err.startswith("error: nhs_number: an NHS number that a UK scheme issues")
    assert "999 numbers are for testing, accepted in a demo or training database only" in ran.err
    assert run.ok("resident", "list", user="mary").out == "No residents match.\n"


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

    verified = run.ok("verify", user="nina")  # any member of staff may check the file
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


def test_a_carer_lists_current_residents_only(run: Cli, recovery_code: str):
    """Bob has left and Cora is not yet admitted: the carer's list shows Alice alone, by name
    or by number, and neither of their NHS numbers; the nurse's shows all three."""
    add_resident(run, BOB, "Bob Brown", admitted=day(-30), discharged=day(-10))
    add_resident(run, CORA, "Cora Cole", consent=False)
    for search in ((), ("999",), (BOB,)):
        listed = run.ok("resident", "list", *search, user="carl").out
        assert format_nhs_number(BOB) not in listed and format_nhs_number(CORA) not in listed
        assert ("Alice Able" in listed) == (search != (BOB,))
    nurse = run.ok("resident", "list", user="nina").out
    assert [line.split("  ")[0] for line in nurse.splitlines()] == [
        format_nhs_number(ALICE),
        format_nhs_number(BOB),
        format_nhs_number(CORA),
    ]


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

# An attorney's consent as the paper form records it (the LPA's registration date last)
ATTORNEY_CONSENT = [
    "consent", "record", "--nhs", ALICE, "--kind", "granted", "--decided-by", "lpa_attorney",
    "--representative-name", "Dana Attorney", "--relationship", "daughter",
    "--authority-reference", "LPA-7000-1234-5678", "--lacks-capacity",
    "--capacity-assessed-on", day(-1), "--capacity-assessment", "Could not weigh it up",
    "--impairment", "yes", "--impairment-detail", "Alzheimer's disease",
    "--unable-to", "understand,weigh", "--support-steps", "Explained twice with pictures",
    "--capacity-assessed-by", "Nina Nurse, registered nurse", "--authority-seen-on", day(0),
    "--authority-seen-by", "Mary Manager, registered manager",
    "--lpa-registered-on", "2024-03-15",
]  # fmt: skip
BAD_INPUT = [
    pytest.param(
        ["resident", "add", "--nhs", "999 000 0019", "--given-name", "Eve", "--family-name",
         "Error", "--date-of-birth", "1940-01-01", "--ods-code", "Y01234"],
        "nhs_number", "the last digit does not match the others", id="nhs-check-digit",
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
        [*ATTORNEY_CONSENT[:-2]], "lpa_registered_on", "the date the LPA was registered",
        id="attorney-without-lpa-registration-date",
    ),
    pytest.param(
        [*ATTORNEY_CONSENT, "--unable-to", "remember"], "unable_to",
        "one of: understand, retain, weigh, communicate", id="stage-2-unknown-ability",
    ),
    pytest.param(
        ["session", "open", "--nhs", ALICE, "--purpose", "medication_check", "--justification",
         "\u200b" * 12],
        "justification", "zero-width spaces", id="justification-of-zero-width-spaces",
    ),
    pytest.param(
        ["resident", "update", "--nhs", ALICE, "--family-name", "\u202eelbA"],
        "family_name", "right-to-left", id="name-with-right-to-left-override",
    ),
    pytest.param(
        ["agreement", "end", str(LARGEST), "--ends-on", day(30)], "agreement_id",
        f"none has id {LARGEST}", id="agreement-not-found",
    ),
    pytest.param(
        ["gp-contact", "log", "--nhs", ALICE, "--spoke-to", "Dr Priya Practice", "--reason",
         "A dose query", "--outcome", "Call back", "--refusal-id", str(LARGEST)],
        "refusal_id", "a recorded refusal", id="refusal-not-found",
    ),
    pytest.param(
        ["verify", "--head", f"{LARGEST + 1}:{'a' * 64}"], "head", f"SEQ from 1 to {LARGEST}",
        id="head-beyond-64-bits",
    ),
    pytest.param(
        ["resident", "show", "--nhs", NOBODY_HERE], "nhs_number", "resident here",
        id="show-unknown-resident",
    ),
    pytest.param(
        ["staff", "nmc-check", "nobody", "--checked-on", day(-1), "--expires-on", day(300)],
        "username", "nobody", id="unknown-staff",
    ),
    pytest.param(
        ["resident", "discharge", "--nhs", ALICE, "--at", "2026-03-29T01:30"],
        "discharged_at", "does not (the clocks go forward", id="a-time-the-clocks-skip",
    ),
    pytest.param(
        ["resident", "discharge", "--nhs", ALICE, "--at", "2026-10-25T01:30"],
        "discharged_at", "+01:00 for the first (BST)", id="a-time-the-clocks-repeat",
    ),
]  # fmt: skip
# Every date and moment the command line takes, typed with a year out of range (0026 for 2026).
FAR_OFF = "from 1900 to 2100"
OUT_OF_RANGE = [
    pytest.param(argv, field, FAR_OFF, id=f"{field}-out-of-range")
    for argv, field in [
        (["resident", "admit", "--nhs", ALICE, "--at", "0026-11-29"], "admitted_at"),
        (["resident", "discharge", "--nhs", ALICE, "--at", "9999-12-31T10:00"], "discharged_at"),
        (["resident", "add", "--nhs", NOBODY_HERE, "--given-name", "Eve", "--family-name", "Error",
          "--date-of-birth", "0026-11-29", "--ods-code", "Y01234"], "date_of_birth"),
        (["resident", "update", "--nhs", ALICE, "--date-of-birth", "9999-12-31"], "date_of_birth"),
        (["staff", "add", "nora", "--name", "Nora Nurse", "--roles", "nurse", "--nmc-pin",
          "12A3457E", "--nmc-checked-on", "0026-11-29", "--nmc-expires-on", day(200)],
         "nmc_checked_on"),
        (["staff", "add", "nora", "--name", "Nora Nurse", "--roles", "nurse", "--nmc-pin",
          "12A3457E", "--nmc-checked-on", day(-1), "--nmc-expires-on", "9999-12-31"],
         "nmc_expires_on"),
        (["staff", "update", "nina", "--confidentiality-signed-on", "0026-01-01"],
         "confidentiality_signed_on"),
        (["staff", "update", "nina", "--ig-training-on", "0026-01-01"], "ig_training_on"),
        (["staff", "nmc-check", "nina", "--checked-on", "0026-11-29", "--expires-on", day(300)],
         "checked_on"),
        (["staff", "nmc-check", "nina", "--checked-on", day(-1), "--expires-on", "9999-12-31"],
         "expires_on"),
        *[(["agreement", "add", "--ods-code", "Y01234", "--starts-on", day(0), *dates,
            "--purposes", "medication_check", "--sections", "summary", "--home-signatory", "M",
            "--practice-signatory", "P"], field)
          for dates, field in [
              (["--starts-on", "0026-01-01"], "starts_on"),
              (["--ends-on", "9999-12-31"], "ends_on"),
              (["--review-on", "9999-12-31"], "review_on"),
          ]],
        (["agreement", "end", "1", "--ends-on", "9999-12-31"], "ends_on"),
        *[(["consent", "record", "--nhs", ALICE, "--kind", "granted", "--decided-by",
            "best_interests", "--lacks-capacity", "--capacity-assessed-on", day(-1),
            "--capacity-assessment", "Could not retain the information",
            "--representative-name", "Dr Priya Practice", "--people-consulted", "Daughter",
            *dates], field)
          for dates, field in [
              (["--decided-on", "0026-11-29"], "decided_on"),
              (["--capacity-assessed-on", "0026-11-29"], "capacity_assessed_on"),
              (["--lpa-registered-on", "0026-11-29"], "lpa_registered_on"),
              (["--authority-seen-on", "9999-12-31"], "authority_seen_on"),
              (["--review-on", "9999-12-31"], "review_on"),
              (["--expires-on", "9999-12-31"], "expires_on"),
          ]],
    ]
]  # fmt: skip


@pytest.mark.parametrize(("argv", "field", "hint"), BAD_INPUT + OUT_OF_RANGE)
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


@pytest.mark.parametrize(
    "argv",
    [
        ["session", "close", "99999999999999999999"],
        ["session", "sections", str(LARGEST + 1), "--sections", "summary"],
        ["agreement", "end", "99999999999999999999", "--ends-on", "2026-12-31"],
        ["gp-contact", "log", "--nhs", ALICE, "--spoke-to", "Dr Priya Practice", "--reason",
         "A dose query", "--outcome", "Call back", "--refusal-id", "99999999999999999999"],
        ["session", "close", "0"],
        ["session", "close", "-1"],
        ["session", "close", "twelve"],
    ],
    ids=["session", "sections", "agreement", "refusal", "zero", "negative", "words"],
)  # fmt: skip
def test_a_record_number_the_database_cannot_hold_is_refused_as_typed(
    run: Cli, capsys, argv: list[str]
):
    """Checked as the command line is read: exit 2 naming the argument and the range, before
    any file is opened or created."""
    with pytest.raises(SystemExit) as usage:
        cli.run(["--db", str(run.db), "--user", "nina", *argv])
    assert usage.value.code == cli.EXIT_INPUT
    said = capsys.readouterr().err.splitlines()[-1]
    assert re.search(r"argument (session_id|agreement_id|--refusal-id): a number from 1 to ", said)
    assert str(LARGEST) in said
    assert files_beside(run.db) == {}


@pytest.mark.parametrize(
    "command",
    [["report", "consent-form", "--blank"], ["export", "fhir", "--from", "2026-11-01", "--to",
     "2026-11-30"], ["backup"]],
    ids=["report", "export", "backup"],
)  # fmt: skip
def test_an_out_file_that_cannot_be_written_is_refused_as_typed(
    run: Cli, capsys, tmp_path: Path, command: list[str]
):
    """--out naming a missing folder, a folder, or a pipe (a device such as /dev/null would be
    the same: the finished file would replace it): exit 2 naming --out, before anything is
    opened; the pipe is still a pipe."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    outs = {
        tmp_path
        / "missing"
        / "out.pdf": f"a file in a folder that exists (no folder {tmp_path / 'missing'})",
        tmp_path: f"a file to write ({tmp_path} is a folder)",
        pipe: f"a file to write ({pipe} is a device or a pipe)",
    }
    for out, said in outs.items():
        with pytest.raises(SystemExit) as usage:
            cli.run(["--db", str(run.db), "--user", "mary", *command, "--out", str(out)])
        assert usage.value.code == cli.EXIT_INPUT
        assert capsys.readouterr().err.splitlines()[-1].endswith(f"argument --out: {said}")
    assert stat.S_ISFIFO(pipe.stat().st_mode) and files_beside(run.db) == {}


# -- verify and the chain head ------------------------------------------------------------------


def test_verify_with_an_earlier_head_is_ok_and_a_later_one_means_rolled_back(
    run: Cli, recovery_code: str
):
    earlier = chain_head(run)
    run.ok("resident", "list", user="carl")  # more audit entries after the printed report
    ran = run.ok("verify", "--head", earlier, user="carl")  # any member of staff
    assert "OK" in ran.out

    seq, digest = earlier.split(":")
    latest_seq = int(chain_head(run).split(":")[0])
    beyond = run("verify", "--head", f"{latest_seq + 5}:{digest}", user="nina")
    assert beyond.code == 1
    assert "rolled back" in beyond.out
    as_json = run(  # the holder of the recovery code, without a login
        "--json", "verify", "--head", f"{latest_seq + 5}:{digest}", "--recovery-code",
        recovery_code,
    )  # fmt: skip
    assert as_json.code == 1
    assert as_json.json_out()["ok"] is False

    rewritten = run("verify", "--head", f"{seq}:{'0' * 64}", user="mary")
    assert rewritten.code == 1
    assert "rewritten" in rewritten.out

    malformed = run("verify", "--head", "yesterday", user="mary")
    assert malformed.code == cli.EXIT_INPUT
    assert "head" in malformed.err


# -- the recovery code --------------------------------------------------------------------------


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
    assert "Wrong recovery code: it does not open this file" in other.err

    listed = run.ok("resident", "list", "--recovery-code", recovery_code.lower(), user="mary")
    assert "Alice Able" in listed.out
    assert len(memory_keyring.entries) == 1  # the device secret is back: this PC is enrolled
    assert "OK" in run.ok("verify", user="mary").out  # so the password alone opens it again
    assert "Alice Able" in run.ok("resident", "list", user="nina").out


# -- temporary passwords ------------------------------------------------------------------------

NORA_NMC = ("--nmc-pin", "34B5678E", "--nmc-checked-on", day(-5), "--nmc-expires-on", day(300))
NORA_OWN = "nora's own password 5"
# What a nurse does on a shift, and what nobody may do with a temporary password.
SHIFT = [
    ("resident", "list"),
    ("resident", "show", "--nhs", ALICE),
    ("consent", "show", "--nhs", ALICE),
    ("session", "mine"),
    ("session", "open", "--nhs", ALICE, *OPEN_SESSION),
    ("gp-contact", "log", "--nhs", ALICE, "--spoke-to", "Reception", "--reason", "A query",
     "--outcome", "GP to call back"),
]  # fmt: skip


def test_a_temporary_password_is_good_only_for_choosing_ones_own(
    run: Cli, recovery_code: str, tmp_path: Path
):
    added = run.ok(
        "--json", "staff", "add", "nora", "--name", "Nora Nurse", "--roles", "nurse", *NORA_NMC,
        user="mary", new_password=TEMPORARY_PASSWORD,
    ).json_out()  # fmt: skip
    assert added["username"] == "nora"
    form = str(tmp_path / "consent-form.pdf")
    for argv in [*SHIFT, ("report", "consent-form", "--blank", "--out", form)]:
        refused = run(*argv, user="nora", password=TEMPORARY_PASSWORD)
        assert refused.code == cli.EXIT_REFUSED, (argv, refused.err)
        assert refused.out == ""
        assert f"Nora Nurse {TEMPORARY}" in refused.err, argv
    as_json = run("--json", "resident", "list", user="nora", password=TEMPORARY_PASSWORD)
    assert as_json.code == cli.EXIT_REFUSED
    assert as_json.json_err()["reasons"] == [f"Nora Nurse {TEMPORARY}"]
    assert not Path(form).exists()

    weak = run(
        "password", "change", user="nora", password=TEMPORARY_PASSWORD, new_password="password12"
    )
    assert weak.code == cli.EXIT_INPUT
    assert weak.err.startswith("error: new_password: ")
    first_login(run, "nora", NORA_OWN)

    for argv in SHIFT:
        run.ok(*argv, user="nora", password=NORA_OWN)
    assert "Alice Able" in run.ok("resident", "list", user="nora", password=NORA_OWN).out
    old = run("resident", "list", user="nora", password=TEMPORARY_PASSWORD)
    assert old.code == cli.EXIT_INPUT
    assert WRONG in old.err

    trail = run.ok("--json", "audit", "list", "--last", "200", user="mary").json_out()
    nora = [(e["action"], e["outcome"]) for e in trail if e["actor_username"] == "nora"]
    assert ("find_residents", "denied") in nora
    assert ("change_own_password", "allowed") in nora
    assert nora.index(("change_own_password", "allowed")) > nora.index(("find_residents", "denied"))


def test_a_manager_with_a_temporary_password_manages_nothing(run: Cli, recovery_code: str):
    run.ok(
        "staff", "add", "molly", "--name", "Molly Manager", "--roles", "manager", user="mary",
        new_password=TEMPORARY_PASSWORD,
    )  # fmt: skip
    for argv in [
        ("staff", "list"),
        ("staff", "add", "eve", "--name", "Eve Extra", "--roles", "carer"),
        ("staff", "clear-lockout", "nina"),
        ("key", "rotate"),
        ("audit", "list"),
    ]:
        refused = run(*argv, user="molly", password=TEMPORARY_PASSWORD)
        assert refused.code == cli.EXIT_REFUSED, (argv, refused.err)
        assert f"Molly Manager {TEMPORARY}" in refused.err
    assert "eve " not in run.ok("staff", "list", user="mary").out
    first_login(run, "molly", "molly's own password 8")
    assert "nina" in run.ok("staff", "list", user="molly", password="molly's own password 8").out


def test_a_reset_password_is_temporary_and_the_old_one_stops_opening(run: Cli, recovery_code: str):
    reset = run.ok("staff", "reset-password", "nina", user="mary", new_password=TEMPORARY_PASSWORD)
    assert "they must change it at next login" in reset.out
    old = run("resident", "list", user="nina")
    assert old.code == cli.EXIT_INPUT
    assert WRONG in old.err
    refused = run("session", "mine", user="nina", password=TEMPORARY_PASSWORD)
    assert refused.code == cli.EXIT_REFUSED
    assert f"Nina Nurse {TEMPORARY}" in refused.err

    first_login(run, "nina", "nina's new password 3")
    assert (
        "Alice Able"
        in run.ok("resident", "list", user="nina", password="nina's new password 3").out
    )


# -- lockouts -----------------------------------------------------------------------------------


def test_a_manager_clears_a_lockout(run: Cli, recovery_code: str):
    run.ok("settings", "set", "lockout_failures", "3", user="mary")
    for _ in range(3):
        wrong = run("resident", "list", user="nina", password="guessing wrong")
        assert wrong.code == cli.EXIT_INPUT
        assert WRONG in wrong.err
    locked = run("resident", "list", user="nina")  # the right password, too late
    assert locked.code == cli.EXIT_INPUT
    assert "locked until" in locked.err and "Ask the registered manager" in locked.err

    carer = run("staff", "clear-lockout", "nina", user="carl")
    assert carer.code == cli.EXIT_REFUSED
    assert "clear lockout is for the registered manager, not a carer" in carer.err
    unknown = run("staff", "clear-lockout", "nobody.here", user="mary")
    assert unknown.code == cli.EXIT_INPUT
    assert unknown.err.startswith("error: username: ")
    assert run.ok("staff", "clear-lockout", "NINA", user="mary").out == "Lockout cleared.\n"

    assert "Alice Able" in run.ok("resident", "list", user="nina").out
    trail = run.ok("--json", "audit", "list", "--last", "100", user="mary").json_out()
    actions = [(e["action"], e["outcome"], e["actor_username"]) for e in trail]
    assert ("lock_account", "allowed", "nina") in actions
    assert [a for a in actions if a[0] == "clear_lockout"] == [
        ("clear_lockout", "denied", "carl"),  # recorded as what the carer tried to do
        ("clear_lockout", "allowed", "mary"),
    ]
    assert sum(a == ("log_in", "denied", "nina") for a in actions) == 4


# -- demo --replace -----------------------------------------------------------------------------


def test_demo_replace_refuses_a_real_database_and_leaves_it_unchanged(run: Cli, recovery_code: str):
    before = files_beside(run.db)
    for argv in (("demo", "--replace"), ("demo",), ("--json", "demo", "--replace")):
        ran = run(*argv, "--residents", "5", "--sessions", "10")
        assert ran.code == cli.EXIT_INPUT, ran.err
        assert ran.out == ""
        assert str(run.db.resolve()) in ran.err
        after = files_beside(run.db)
        for name in (run.db.name, f"{run.db.name}.keys"):
            assert after[name] == before[name], f"{name} changed"
        assert f"{run.db.name}-wal" not in after
    assert (
        "not a demo database"
        in run("demo", "--replace", "--residents", "5", "--sessions", "10").err
    )
    assert "OK" in run.ok("verify", user="mary").out
    assert "Alice Able" in run.ok("resident", "list", user="mary").out


def test_demo_replace_refuses_a_real_home_even_when_the_demo_password_opens_it(run: Cli):
    from carehome_share import demo

    manager = demo.DEMO_ACCOUNTS[0][0]
    run.ok(
        "init", "--home", "Rose Court Care Home", "--manager", manager, "--manager-name",
        "Mary Manager", password=demo.DEMO_PASSWORD,
    )  # fmt: skip
    before = files_beside(run.db)
    ran = run("demo", "--replace", "--residents", "5", "--sessions", "10")
    assert ran.code == cli.EXIT_INPUT
    assert "not a demo database" in ran.err
    after = files_beside(run.db)  # it opened, it said "home", and it was left alone
    assert after[run.db.name] == before[run.db.name]
    # Opening rewrites the key file with the database key sealed afresh (HPKE is randomised):
    # the same home and the same slots, only the encapsulations differ.
    assert set(after) == set(before)
    assert key_file_without_sealed_keys(run.db, after) == key_file_without_sealed_keys(
        run.db, before
    )
    assert "OK" in run.ok("verify", user=manager, password=demo.DEMO_PASSWORD).out


def key_file_without_sealed_keys(db: Path, files: dict[str, bytes]) -> dict:
    key_file = json.loads(files[f"{db.name}.keys"])
    for slot in key_file["slots"]:
        slot.pop("sealed_database_key")
    return key_file


# -- backup and restore -------------------------------------------------------------------------


def _audit_actions(run: Cli) -> list[dict]:
    return run.ok("--json", "audit", "list", "--last", "500", user="mary").json_out()


def test_restore_needs_a_manager_of_the_backup_and_is_audited(
    run: Cli, recovery_code: str, tmp_path: Path
):
    backup = tmp_path / "backups" / "rose-court-backup.db"
    backup.parent.mkdir()
    assert "Backed up to" in run.ok("backup", "--out", str(backup), user="mary").out
    assert Path(f"{backup}.keys").exists()  # the staff who could log in then can open it
    add_resident(run, BOB, "Bob Later", admitted=day(-1))  # after the backup

    def database_files() -> dict[str, bytes]:  # a wrong password adds to the journal, rightly
        return {k: v for k, v in files_beside(run.db).items() if not k.endswith(".logins")}

    current = database_files()

    for argv, kwargs, code, said in [
        (("restore", str(backup)), {}, cli.EXIT_INPUT, "--user"),
        (("restore", str(backup)), {"user": "mary", "password": ""}, cli.EXIT_INPUT,
         cli.ENV_PASSWORD),
        (("restore", str(backup)), {"user": "mary", "password": "not my password"},
         cli.EXIT_INPUT, WRONG),
        (("restore", str(backup)), {"user": "nina"}, cli.EXIT_REFUSED,
         "restoring a backup is for a registered manager"),
    ]:  # fmt: skip
        ran = run(*argv, **kwargs)
        assert ran.code == code, (kwargs, ran.err)
        assert said in ran.err
        assert ran.out == ""
        assert database_files() == current, "a refused restore must change nothing"

    restored = run.ok("restore", str(backup), user="mary")
    assert f"Restored {run.db.resolve()}" in restored.out
    aside = re.search(r"kept as (\S+)", restored.out)
    assert aside and Path(aside.group(1)).exists()
    listed = run.ok("resident", "list", user="mary").out
    assert "Alice Able" in listed and "Bob Later" not in listed
    assert "Alice Able" in run.ok("resident", "list", user="nina").out  # passwords as then
    restores = [e for e in _audit_actions(run) if e["action"] == "restore"]
    assert [(e["outcome"], e["actor_username"]) for e in restores] == [
        ("allowed", "mary"),
        ("denied", "mary"),  # the wrong password, journaled while the file was closed
    ]
    assert restores[0]["details"]["backup"] == backup.name
    assert restores[0]["details"]["by"] == "manager's password"
    assert "OK" in run.ok("verify", user="mary").out


def test_restore_with_the_recovery_code_needs_no_login(
    run: Cli, recovery_code: str, tmp_path: Path
):
    backup = tmp_path / "backup.db"
    run.ok("backup", "--out", str(backup), user="mary")
    restored = run.ok("restore", str(backup), "--recovery-code", recovery_code)
    assert f"Restored {run.db.resolve()}" in restored.out
    entry = next(e for e in reversed(_audit_actions(run)) if e["action"] == "restore")
    assert entry["details"]["by"] == "recovery code"
    assert entry["actor_username"] == "-"


def test_a_backup_of_another_home_is_refused(run: Cli, recovery_code: str, tmp_path: Path):
    other = Cli(tmp_path / "elsewhere" / "other-home.db", run.monkeypatch, run.capsys)
    init(other, home="Other Home")  # its manager is also mary, with the same password
    other_backup = tmp_path / "other-backup.db"
    other.ok("backup", "--out", str(other_backup), user="mary")
    current = files_beside(run.db)

    ran = run("restore", str(other_backup), user="mary")
    assert ran.code == cli.EXIT_LOCKED
    assert "another home" in ran.err
    assert files_beside(run.db) == current
    assert "Alice Able" in run.ok("resident", "list", user="mary").out


def test_backup_and_restore_as_json(run: Cli, recovery_code: str, tmp_path: Path):
    backup = tmp_path / "backup.db"
    made = run.ok("--json", "backup", "--out", str(backup), user="mary").json_out()
    assert made["path"] == str(backup.resolve())
    restored = run.ok("--json", "restore", str(backup), user="mary").json_out()
    assert restored["restored"]["path"] == str(run.db.resolve())


# -- rotating the key ---------------------------------------------------------------------------


def test_key_rotate_prints_a_new_code_and_retires_the_old_one(
    run: Cli, recovery_code: str, tmp_path: Path
):
    refused = run("key", "rotate", user="nina")
    assert refused.code == cli.EXIT_REFUSED
    assert "rotate key is for the registered manager" in refused.err

    rotated = run.ok("key", "rotate", user="mary")
    assert "NEW RECOVERY CODE" in rotated.out
    (new_code,) = CODE.findall(rotated.out)
    assert new_code != recovery_code

    old = run("verify", "--recovery-code", recovery_code)
    assert old.code == cli.EXIT_LOCKED
    assert "from before the database was given a new key" in old.err
    assert "OK" in run.ok("verify", "--recovery-code", new_code).out
    assert "OK" in run.ok("verify", user="mary").out  # every password still opens it
    assert "Alice Able" in run.ok("resident", "list", user="nina").out

    sheet = tmp_path / "new-recovery-sheet.pdf"
    again = run.ok("--json", "key", "rotate", "--out", str(sheet), user="mary").json_out()
    assert again["written"] == str(sheet.resolve())
    assert sheet.read_bytes().startswith(b"%PDF")
    assert CODE.fullmatch(again["recovery_code"]) and again["recovery_code"] != new_code
    assert run("verify", "--recovery-code", new_code).code == cli.EXIT_LOCKED
    trail = [(e["action"], e["outcome"], e["actor_username"]) for e in _audit_actions(run)]
    assert trail.count(("rotate_key", "allowed", "mary")) == 2
    assert ("rotate_key", "denied", "nina") in trail


# -- passwords that are not UTF-8 ---------------------------------------------------------------


def test_a_password_that_is_not_utf8_is_a_wrong_password(run: Cli, recovery_code: str):
    """Bytes that are not UTF-8 in the environment decode to lone surrogates."""
    ran = run("resident", "list", user="mary", password="manager password \udca3")
    assert ran.code == cli.EXIT_INPUT
    assert WRONG in ran.err
    unusable = run("password", "change", user="mary", new_password="correct horse battery \udca3")
    assert unusable.code == cli.EXIT_INPUT
    assert unusable.err.startswith("error: new_password: ")


# -- disclosure requests ------------------------------------------------------------------------


def test_a_carer_logs_a_request_and_the_manager_checks_decides_and_prints_the_register(
    run: Cli, recovery_code: str, tmp_path: Path
) -> None:
    logged = run.ok(
        "--json", "disclosure", "log", "--requester", "police", "--organisation",
        "Anyshire Police", "--person", "DC Sam Patel", "--nhs", ALICE, "--asked",
        "Dates of her stay", "--why", "A theft from her room", "--basis", "crime",
        user="carl",
    ).json_out()  # fmt: skip
    request_id = str(logged["id"])
    refused = run("disclosure", "decide", request_id, "--outcome", "refuse", "--reasons", "x",
                  user="carl")  # fmt: skip
    assert refused.code == cli.EXIT_REFUSED
    assert "information governance lead" in refused.err

    early = run(
        "disclosure", "decide", request_id, "--outcome", "disclose", "--reasons", "Crime",
        "--disclosed", "Stay dates", "--sent-how", "Secure email", user="mary",
    )  # fmt: skip
    assert early.code == cli.EXIT_INPUT
    assert early.err.startswith("error: emergency: the requester's identity is not verified")

    letter = tmp_path / "police-letter.pdf"
    letter.write_bytes(b"%PDF-1.4 on force letterhead")
    run.ok("disclosure", "attach", request_id, str(letter), user="mary")
    run.ok("disclosure", "check", request_id, "--identity-check", "Warrant card seen", user="mary")
    shown = run.ok(
        "disclosure", "decide", request_id, "--outcome", "disclose", "--reasons",
        "Crime exemption", "--disclosed", "Admission date", "--sent-how", "Secure email",
        user="mary",
    ).out  # fmt: skip
    assert "Disclosed in full" in shown and "Disclosed: Admission date; sent Secure email" in shown
    assert "in writing (kept: police-letter.pdf)" in shown

    listed = run.ok("disclosure", "list", user="mary").out
    assert "Police: Anyshire Police (crime) - Disclosed in full" in listed
    copy = tmp_path / "copy.pdf"
    run.ok("disclosure", "document", request_id, "--out", str(copy), user="mary")
    assert copy.read_bytes() == letter.read_bytes()

    register = tmp_path / "register.pdf"
    wrote = run.ok(
        "report", "disclosures", "--from", day(-1), "--to", day(0), "--out", str(register),
        user="mary",
    ).out  # fmt: skip
    assert f"Wrote {register}" in wrote and register.read_bytes().startswith(b"%PDF")
    assert "OK" in run.ok("verify", user="mary").out


# -- the caller's shell -------------------------------------------------------------------------


def test_the_tests_do_not_depend_on_the_callers_environment():
    """A shell that exports the app's variables and another keyring backend: tests that drive the
    command line in-process and through a backup, restore and verify still pass."""
    hostile = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "CAREHOME_SHARE_DB": "/nonexistent/carehome.db",
        "CAREHOME_SHARE_USER": "mary",
        "CAREHOME_SHARE_PASSWORD": "not anyone's password",
        "CAREHOME_SHARE_PASSPHRASE": "an old passphrase",
        "CAREHOME_SHARE_RECOVERY_CODE": "00000-00000",
    }
    selected = [
        "tests/test_faults_storage.py::test_command_line_backup_damage_and_restore",
        "tests/test_cli.py::test_a_missing_user_is_named",
    ]
    inner = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selected],
        cwd=REPO,
        env=hostile,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert inner.returncode == 0, inner.stdout[-3000:]


# -- GP practices --------------------------------------------------------------------------------


def test_a_practice_corrected_deleted_when_unused_and_marked_inactive(run: Cli, recovery_code: str):
    run.ok("practice", "add", "--name", "Hilside Surgery", "--ods-code", "Y05687", user="mary")
    fixed = run.ok(
        "practice", "edit", "y05687", "--name", "Hillside Surgery", "--ods-code", "Y05678",
        "--phone", "01632 960123", user="mary",
    )  # fmt: skip
    assert fixed.out == "Updated Y05678  Hillside Surgery  01632 960123\n"

    in_use = run("practice", "delete", "Y01234", user="mary")
    assert in_use.code == cli.EXIT_INPUT
    assert in_use.err == (
        "error: Riverside Surgery (Y01234) cannot be deleted: 1 resident, 1 data sharing "
        "agreement and 3 audit entries about its patients or reports refer to it. Mark it "
        "inactive instead: it is then no longer offered for new residents, and its records and "
        "reports stay.\n"
    )
    moved = run("practice", "edit", "Y01234", "--ods-code", "Y09999", user="mary")
    assert moved.code == cli.EXIT_INPUT and "ods_code: the code it has (Y01234)" in moved.err
    refused = run("practice", "deactivate", "Y01234", user="nina")
    assert refused.code == cli.EXIT_REFUSED and "not a registered nurse" in refused.err

    inactive = run.ok("practice", "deactivate", "Y01234", user="mary")
    assert inactive.out == (
        "Riverside Surgery (Y01234) is inactive: no longer offered for new residents\n"
    )
    assert run.ok("practice", "list", user="mary").out == (
        "Y05678  Hillside Surgery  01632 960123\nY01234  Riverside Surgery    (inactive)\n"
    )
    new = run(
        "resident", "add", "--nhs", BOB, "--given-name", "Bob", "--family-name", "Brown",
        "--date-of-birth", "1938-05-17", "--ods-code", "Y01234", user="mary",
    )  # fmt: skip
    assert new.code == cli.EXIT_INPUT and "Riverside Surgery is marked inactive" in new.err
    assert "Riverside Surgery" in run.ok("resident", "show", "--nhs", ALICE, user="mary").out
    run.ok("practice", "activate", "Y01234", user="mary")

    assert run.ok("practice", "delete", "Y05678", user="mary").out == (
        "Deleted Hillside Surgery (Y05678)\n"
    )
    assert "Y05678" not in run.ok("practice", "list", user="mary").out
    assert (
        "OK: every record row, and the tables and safeguards, are as the audit trail recorded"
        in (run.ok("verify", user="mary").out)
    )


def test_an_attorneys_consent_records_what_the_paper_form_does(
    run: Cli, recovery_code: str
) -> None:
    assert (
        "Recorded: granted by health and welfare attorney (LPA)"
        in run.ok(
            *ATTORNEY_CONSENT, "--known-wishes", "Wants her daughter to decide", user="mary"
        ).out
    )
    latest = run.ok("--json", "consent", "show", "--nhs", ALICE, user="mary").json_out()["latest"]
    assert latest["decided_by"] == "lpa_attorney"
    assert latest["impairment"] is True and latest["unable_to"] == ["understand", "weigh"]
    assert latest["lpa_registered_on"] == "2024-03-15"
    assert latest["authority_seen_by"] == "Mary Manager, registered manager"
    assert latest["known_wishes"] == "Wants her daughter to decide"


def test_the_homes_identifiers_are_settings(run: Cli, recovery_code: str) -> None:
    assert run.ok("settings", "set", "home_ods_code", "vm123", user="mary").out
    bad = run("settings", "set", "cqc_location_id", "123456789", user="mary")
    assert bad.code == cli.EXIT_INPUT and "cqc_location_id" in bad.err and '"1-"' in bad.err
    run.ok("settings", "set", "cqc_location_id", "1-123456789", user="mary")
    shown = run.ok("settings", "show", user="mary").out
    assert "home_ods_code = VM123  (the home's ODS organisation code)" in shown
    assert "cqc_location_id = 1-123456789" in shown
    run.ok("settings", "set", "home_ods_code", "", user="mary")
    assert "home_ods_code =   (" in run.ok("settings", "show", user="mary").out


def test_someone_with_two_roles_is_told_what_to_type(run: Cli, recovery_code: str) -> None:
    run.ok(
        "staff", "add", "dora", "--name", "Dora Deputy", "--roles", "manager,nurse", *NORA_NMC,
        user="mary", new_password=TEMPORARY_PASSWORD,
    )  # fmt: skip
    first_login(run, "dora", STAFF_PASSWORD, "--role", "nurse")
    unsaid = run("resident", "list", user="dora", password=STAFF_PASSWORD)
    assert unsaid.code == cli.EXIT_INPUT
    assert unsaid.err == (
        "error: role: you hold several roles: choose one to work as (Registered manager or "
        "Registered nurse): add --role manager or --role nurse\n"
    )
    chosen = run("--role", "nurse", "resident", "list", user="dora", password=STAFF_PASSWORD)
    assert chosen.code == 0
