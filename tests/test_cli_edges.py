"""The access rules at their edges through the command line, on a copy of Rose Court (see
tests/test_cli.py): dates out of range, clock changes, end dates, decisions entered late,
sessions that outlive the rules, alerts, the same person deciding and looking."""

from datetime import date
from pathlib import Path

import pytest

from carehome_share import cli
from tests import test_cli
from tests.test_cli import (
    ALICE,
    BOB,
    OPEN_SESSION,
    STAFF_PASSWORD,
    TEMPORARY_PASSWORD,
    Cli,
    add_resident,
    day,
    first_login,
    refusal,
)
from tests.test_reports import flat, pages_of

# Rose Court's fixtures, shared with tests/test_cli.py
run, recovery_code = test_cli.run, test_cli.recovery_code
rose_court_template = test_cli.rose_court_template
CONSENT_HISTORY = "Consent history, in the order decided (the last decided stands):"


def uk(iso_day: str) -> str:
    """A YYYY-MM-DD day as the app writes it, dd/mm/yyyy."""
    return date.fromisoformat(iso_day).strftime("%d/%m/%Y")


@pytest.mark.parametrize(
    ("command", "dates", "field"),
    [
        (["report", "access", "--ods-code", "Y01234"], [day(-7), "9999-12-31"], "last_day"),
        (["report", "staff", "--ods-code", "Y01234"], ["0026-11-01", day(0)], "first_day"),
        (["export", "fhir"], [day(-7), "9999-12-31"], "last_day"),
    ],
)
def test_a_period_out_of_range_exits_2_naming_the_field_and_writes_nothing(
    run: Cli, recovery_code: str, tmp_path: Path, command, dates, field
) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    out = folder / "out.pdf"
    ran = run(*command, "--from", dates[0], "--to", dates[1], "--out", str(out), user="mary")
    assert ran.code == cli.EXIT_INPUT, ran.err
    assert ran.err.startswith(f"error: {field}: a date from 1900 to 2100")
    assert list(folder.iterdir()) == []


def test_a_repeated_time_with_its_offset_is_taken_as_that_one(run: Cli, recovery_code: str):
    add_resident(run, BOB, "Bob Baker", consent=False)
    admitted = run.ok(
        "--json", "resident", "admit", "--nhs", BOB, "--at", "2026-10-25T01:30+00:00",
        user="mary",
    )  # fmt: skip
    assert admitted.json_out()["admitted_at"] == "2026-10-25T01:30:00+00:00"


def test_a_consent_is_in_force_through_its_last_day(run: Cli, recovery_code: str):
    """ "Valid until today" holds today, as an agreement's and an NMC registration's last day."""
    recorded = run.ok(
        "consent", "record", "--nhs", ALICE, "--kind", "granted", "--decided-by", "resident",
        "--decided-on", day(-2), "--expires-on", day(0), user="mary",
    )  # fmt: skip
    assert "Recorded: granted" in recorded.out
    assert run.ok("consent", "show", "--nhs", ALICE, user="nina").out.startswith("Consent IN FORCE")
    run.ok("session", "open", "--nhs", ALICE, *OPEN_SESSION, user="nina")
    with pytest.raises(SystemExit):
        cli.run(["consent", "record", "--help"])
    assert "last day in force" in " ".join(run.capsys.readouterr().out.split())


def test_a_grant_entered_late_does_not_reverse_a_later_withdrawal(
    run: Cli, recovery_code: str, tmp_path: Path
):
    add_resident(run, BOB, "Bob Baker", admitted=day(-30), consent=False)
    for kind, decided_on, reason in [
        ("granted", day(-20), []),
        ("withdrawn", day(-2), ["--reason", "Told the nurse she has changed her mind"]),
        ("granted", day(-19), []),  # an old paper form, typed in after the withdrawal
    ]:
        recorded = run.ok(
            "consent", "record", "--nhs", BOB, "--kind", kind, "--decided-by", "resident",
            "--decided-on", decided_on, *reason, user="mary",
        )  # fmt: skip
        assert "(entered late: decided" in recorded.out

    reasons, _refusal = refusal(run("session", "open", "--nhs", BOB, *OPEN_SESSION, user="nina"))
    assert reasons == [f"consent was withdrawn by the resident on {uk(day(-2))}"]
    shown = run.ok("consent", "show", "--nhs", BOB, user="mary").out
    assert shown.startswith("NO consent in force: consent was withdrawn")
    assert f"the consent entered late: decided {uk(day(-19))}" in shown
    assert "does not stand" in shown
    history = run.ok("resident", "show", "--nhs", BOB, user="mary").out.splitlines()
    decided = [line.split()[0] for line in history[history.index(CONSENT_HISTORY) + 1 :]]
    assert decided == [uk(day(-20)), uk(day(-19)), uk(day(-2))]

    register = tmp_path / "register.pdf"
    run.ok("report", "consent-register", "--out", str(register), user="mary")
    assert f"entered late: decided {uk(day(-19))}" in flat(pages_of(register.read_bytes()))


def test_a_withdrawal_ends_the_nurses_open_session_and_she_is_told(
    run: Cli, recovery_code: str, tmp_path: Path
):
    opened = run.ok("--json", "session", "open", "--nhs", ALICE, *OPEN_SESSION, user="nina")
    session_id = str(opened.json_out()["id"])
    run.ok(
        "consent", "record", "--nhs", ALICE, "--kind", "withdrawn", "--decided-by", "resident",
        "--reason", "Would rather the surgery were phoned", user="mary",
    )  # fmt: skip
    ran = run("session", "sections", session_id, "--sections", "medications", user="nina")
    assert ran.code == cli.EXIT_INPUT
    assert "(this one was ended at " in ran.err
    assert f"consent was withdrawn by the resident on {uk(day(0))}" in ran.err
    mine = run.ok("session", "mine", user="nina").out
    assert f"session {session_id}:" in mine and "ended" in mine and "consent was withdrawn" in mine

    text = _access_report_text(run, tmp_path)
    assert "ENDED by a change: consent was withdrawn" in text
    assert "Ended by a change to the rules 1" in text


def test_the_nurse_is_told_a_consent_review_has_passed(run: Cli, recovery_code: str):
    add_resident(run, BOB, "Bob Baker", admitted=day(-5), consent=False)
    run.ok(
        "consent", "record", "--nhs", BOB, "--kind", "granted", "--decided-by", "resident",
        "--decided-on", day(-3), "--review-on", day(-1), user="mary",
    )  # fmt: skip
    opened = run.ok("session", "open", "--nhs", BOB, *OPEN_SESSION, user="nina").out
    assert "NOTE: the consent decision is due for review" in opened
    as_json = run.ok("--json", "session", "open", "--nhs", BOB, *OPEN_SESSION, user="nina")
    assert as_json.json_out()["alerts"] == ["the consent decision is due for review"]


def test_a_manager_nurse_looking_on_her_own_best_interests_decision_is_marked(
    run: Cli, recovery_code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setitem(test_cli.PASSWORDS, "mona", STAFF_PASSWORD)
    run.ok(
        "staff", "add", "mona", "--name", "Mona Matron", "--roles", "manager,nurse",
        "--nmc-pin", "34B5678F", "--nmc-checked-on", day(-10), "--nmc-expires-on", day(300),
        user="mary", new_password=TEMPORARY_PASSWORD,
    )  # fmt: skip
    first_login(run, "mona", STAFF_PASSWORD, "--role", "manager")
    add_resident(run, BOB, "Bob Baker", admitted=day(-5), consent=False)
    run.ok(
        "consent", "record", "--nhs", BOB, "--kind", "granted", "--decided-by", "best_interests",
        "--lacks-capacity", "--capacity-assessed-on", day(0),
        "--capacity-assessment", "Could not retain the information", "--representative-name",
        "Mona Matron", "--people-consulted", "Son; GP", "--impairment", "yes",
        "--unable-to", "retain", "--support-steps", "Explained twice",
        "--capacity-assessed-by", "Mona Matron, manager", "--known-wishes", "None known",
        "--role", "manager", user="mona",
    )  # fmt: skip
    opened = run.ok(
        "session", "open", "--nhs", BOB, *OPEN_SESSION, "--role", "nurse", user="mona"
    ).out
    assert "NOTE: this access stands on a best-interests decision you made yourself" in opened

    text = _access_report_text(run, tmp_path)
    assert "DECIDED AND LOOKED: the nurse made this best-interests decision" in text
    assert "On the nurse's own best-interests decision 1" in text


def _access_report_text(run: Cli, tmp_path: Path) -> str:
    """The text of the manager's GP access report for yesterday and today."""
    report = tmp_path / "report.pdf"
    run.ok(
        "report", "access", "--ods-code", "Y01234", "--from", day(-1), "--to", day(0),
        "--out", str(report), user="mary",
    )  # fmt: skip
    return flat(pages_of(report.read_bytes()))
