"""Every document built from a demo home (three years of synthetic history), checked against the
database itself: the right rows in the period and none outside it, the chain head, the page
numbers; and the command line that saves them."""

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from carehome_share import cli, demo
from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.validation import day_start
from carehome_share.reports.access_report import write_access_report
from carehome_share.reports.consent_form import write_consent_form
from carehome_share.reports.consent_register import write_consent_register
from carehome_share.reports.history import write_resident_history
from carehome_share.reports.recovery_sheet import write_recovery_sheet
from carehome_share.reports.staff_list import write_staff_list
from carehome_share.services import audit as audit_service
from carehome_share.services import auth, reports
from carehome_share.services.context import Context
from carehome_share.store import audit, recovery
from carehome_share.store.audit import format_time
from carehome_share.store.vault import Vault

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
FIRST, LAST = "2026-08-01", "2026-10-31"


@dataclass
class Demo:
    ctx: Context
    path: Path
    code: str
    ods_code: str  # the practice with the most sessions
    practice_id: int
    resident_id: int  # the resident with the most sessions

    def scalar(self, sql: str, *params: object) -> object:
        return self.ctx.conn.execute(sql, params).fetchone()[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    vault, code = Vault.create(path, purpose="demo")
    ctx = Context(vault, clock=lambda: NOW, workstation="office")
    demo.generate(ctx, residents=40, sessions=800, seed=3)
    auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
    conn = vault.conn
    practice_id, ods_code = conn.execute(
        "SELECT p.id, p.ods_code FROM access_session a JOIN practice p ON p.id = a.practice_id "
        "GROUP BY p.id, p.ods_code ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    resident_id = conn.execute(
        "SELECT resident_id FROM access_session GROUP BY resident_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    yield Demo(ctx, path, code, ods_code, practice_id, resident_id)
    vault.close()


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def build(read: Callable[[Callable], object], write: Callable) -> list[str]:
    out = io.BytesIO()
    read(lambda document: write(document, out))
    return pages_of(out.getvalue())


def assert_pages_marked(pages: list[str]) -> None:
    for number, text in enumerate(pages, start=1):
        assert re.search(rf"Page {number} of\s*{len(pages)}\b", text), text[-200:]
        assert "CONFIDENTIAL" in text
        assert demo.HOME_NAME in text


def test_access_report_lists_exactly_the_period_s_sessions_refusals_and_calls(home: Demo) -> None:
    head = audit_service.verify(home.ctx)
    pages = build(
        lambda r: reports.gp_access_report(home.ctx, home.ods_code, FIRST, LAST, r),
        write_access_report,
    )
    text = " ".join(" ".join(pages).split())

    start, end = (format_time(day_start(date.fromisoformat(d))) for d in (FIRST, "2026-11-01"))
    in_range = (
        "SELECT r.nhs_number FROM {table} x JOIN resident r ON r.id = x.resident_id "
        "WHERE x.practice_id = ? AND x.{at} >= ? AND x.{at} < ?"
    )
    sessions = home.scalar(
        "SELECT count(*) FROM access_session WHERE practice_id = ? AND opened_at >= ? "
        "AND opened_at < ?",
        home.practice_id,
        start,
        end,
    )
    assert sessions, "the demo has sessions in the period"
    assert f"Access sessions ({sessions:,})" in text
    shown: set[str] = set()
    for table, at in (
        ("access_session", "opened_at"),
        ("access_refusal", "at"),
        ("gp_contact", "at"),
    ):
        rows = home.ctx.conn.execute(
            in_range.format(table=table, at=at), (home.practice_id, start, end)
        ).fetchall()
        shown |= {nhs for (nhs,) in rows}
    elsewhere = {
        nhs
        for (nhs,) in home.ctx.conn.execute(
            "SELECT DISTINCT r.nhs_number FROM access_session a JOIN resident r "
            "ON r.id = a.resident_id WHERE a.practice_id <> ? OR a.opened_at < ? OR a.opened_at >= ?",
            (home.practice_id, start, end),
        )
    } - shown
    assert elsewhere, "some residents' records were opened only outside the period"
    assert {nhs for nhs in shown if format_nhs_number(nhs) not in text} == set()
    assert {nhs for nhs in elsewhere if format_nhs_number(nhs) in text} == set()
    assert f"held {head.head_seq:,} entries" in text  # the signed head of the log as read
    assert_pages_marked(pages)


DOCUMENTS = {
    "history": (
        lambda h, r: reports.resident_history(h.ctx, h.resident_id, r),
        write_resident_history,
    ),
    "consent register": (lambda h, r: reports.consent_register(h.ctx, r), write_consent_register),
    "register with former residents": (
        lambda h, r: reports.consent_register(h.ctx, r, include_former=True),
        write_consent_register,
    ),
    "staff list": (
        lambda h, r: reports.staff_list(h.ctx, h.ods_code, "2023-11-21", "2026-11-20", r),
        write_staff_list,
    ),
    "consent form": (
        lambda h, r: reports.consent_form(h.ctx, h.resident_id, r),
        write_consent_form,
    ),
    "blank consent form": (lambda h, r: reports.consent_form(h.ctx, None, r), write_consent_form),
    "recovery sheet": (lambda h, r: reports.recovery_sheet(h.ctx, h.code, r), write_recovery_sheet),
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_builds_and_is_marked_on_every_page(home: Demo, name: str) -> None:
    read, write = DOCUMENTS[name]
    pages = build(lambda render: read(home, render), write)
    assert pages
    assert_pages_marked(pages)


def test_consent_register_shows_who_has_no_consent_in_force(home: Demo) -> None:
    text = " ".join(
        " ".join(
            build(lambda r: reports.consent_register(home.ctx, r), write_consent_register)
        ).split()
    )
    assert "NO" in text and "Yes" in text
    assert re.search(r"consent was (refused|withdrawn)|objection was recorded|expired", text)


def test_recovery_sheet_prints_a_code_that_opens_this_database_and_audits_no_code(
    home: Demo,
) -> None:
    text = "\n".join(
        build(
            lambda r: reports.recovery_sheet(home.ctx, home.code.lower(), r), write_recovery_sheet
        )
    )
    for group in home.code.split("-"):
        assert group in text
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.details) == ("print_reports", {"document": "recovery_sheet"})

    other = recovery.encode(bytes(32))  # well formed, but not this database's key
    before = audit.head(home.ctx.conn)
    with pytest.raises(ValidationError, match="does not open it"):
        reports.recovery_sheet(home.ctx, other, print)
    assert audit.head(home.ctx.conn) == before


def test_the_command_line_saves_each_document(
    home: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home.ctx.vault.enrol_this_computer()  # this test's fresh keychain gets the device secret
    monkeypatch.setenv(cli.ENV_PASSWORD, demo.DEMO_PASSWORD)
    nhs = str(home.scalar("SELECT nhs_number FROM resident WHERE id = ?", home.resident_id))
    period = ["--ods-code", home.ods_code, "--from", FIRST, "--to", LAST]
    commands = {
        "access": period,
        "history": ["--nhs", nhs],
        "consent-form": ["--blank"],
        "consent-register": ["--all"],
        "staff": period,
        "agreement": ["1"],
        "dpia": ["1"],
        "recovery": ["--recovery-code", home.code],
    }
    for verb, options in commands.items():
        out = tmp_path / f"{verb}.pdf"
        args = ["--db", str(home.path), "--user", "manager", "report", verb, *options]
        assert cli.run([*args, "--out", str(out)]) == 0, capsys.readouterr().err
        assert f"Wrote {out}" in capsys.readouterr().out
        assert_pages_marked(pages_of(out.read_bytes()))

    refused = tmp_path / "refused.pdf"
    args = ["--db", str(home.path), "--user", "carer.jo", "report", "access", *period]
    assert cli.run([*args, "--out", str(refused)]) == cli.EXIT_REFUSED
    assert "print reports is for the registered manager" in capsys.readouterr().err
    assert not refused.exists()


def test_the_command_line_saves_the_dpia_for_editing_by_its_name_or_format(
    home: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home.ctx.vault.enrol_this_computer()
    monkeypatch.setenv(cli.ENV_PASSWORD, demo.DEMO_PASSWORD)
    args = ["--db", str(home.path), "--user", "manager", "report", "dpia", "1"]
    by_name, by_format = tmp_path / "dpia.docx", tmp_path / "dpia-draft"
    for out, extra in ((by_name, []), (by_format, ["--format", "docx"])):
        assert cli.run([*args, "--out", str(out), *extra]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.strip() == f"Wrote {out}"
        title = docx.Document(str(out)).paragraphs[0].text
        assert title.startswith("Data protection impact assessment: sharing GP records with")
    entry = [e for e in audit.entries(home.ctx.conn, last=5) if e.action == "print_reports"][-1]
    assert (entry.details["document"], entry.details["editable"]) == ("dpia_pack", True)

    unknown = tmp_path / "dpia.txt"
    assert cli.run([*args, "--out", str(unknown)]) == cli.EXIT_INPUT
    assert ".pdf or .docx" in capsys.readouterr().err
    assert not unknown.exists()
