"""Printed documents built from a home made through the services, read back with pypdf: what a
GP practice's reviewer, an inspector or a resident checks on them."""

import gc
import io
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from carehome_share.domain.errors import NotFound, PermissionDenied, ValidationError
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import ConsentKind
from carehome_share.reports.access_report import write_access_report
from carehome_share.reports.agreement import write_agreement
from carehome_share.reports.consent_form import write_consent_form
from carehome_share.reports.consent_register import write_consent_register
from carehome_share.reports.fonts import FONT
from carehome_share.reports.history import write_resident_history
from carehome_share.reports.staff_list import write_staff_list
from carehome_share.reports.table import _wrapped
from carehome_share.services import access, auth, consent, practices, residents, settings, staff
from carehome_share.services import audit as audit_service
from carehome_share.services import backup as backup_service
from carehome_share.services import reports as report_service
from carehome_share.services.context import Context
from carehome_share.services.reports import AccessReport
from carehome_share.store import audit, merkle
from carehome_share.store.files import atomic_output
from carehome_share.store.vault import Vault
from tests.conftest import Clock
from tests.factories import MANAGER_PASSWORD, ODS, Home, play_november


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(pages: list[str]) -> str:
    """All pages as one line of words: a phrase is found even where a cell wrapped it."""
    return " ".join(" ".join(pages).split())


def build(read: Callable[[Callable], object], write: Callable) -> list[str]:
    """Read a document through its service, write it to memory, return each page's text."""
    out = io.BytesIO()
    read(lambda document: write(document, out))
    return pages_of(out.getvalue())


def assert_every_page_marked(pages: list[str], home_name: str = "Rose Court Care Home") -> None:
    for number, text in enumerate(pages, start=1):
        assert re.search(rf"Page {number} of\s*{len(pages)}\b", text), text[-200:]
        assert "CONFIDENTIAL: contains personal data" in text
        assert home_name in text
        assert re.search(r"Generated \d\d/\d\d/20\d\d \d\d:\d\d \(UK time\)", text)


class Story:
    """November in a small home: one session before and one after a withdrawal of consent, an
    auto-closed session, a refusal with the call made instead, and a session in December."""

    def __init__(self, home: Home, clock: Clock) -> None:
        self.home, self.clock = home, clock
        played = play_november(home, clock)
        self.nurse, self.alice, self.bob = played.nurse, played.alice, played.bob
        self.refusal_id = played.refusal_id
        ctx = home.ctx
        access.log_gp_contact(
            ctx,
            self.alice.id,
            "Practice nurse",
            "Dose query after the refusal",
            "Dose confirmed by phone",
            self.refusal_id,
        )
        clock.set("2026-12-02T11:00:00")
        access.open_access_session(
            ctx, self.bob.id, "care_plan_review", "Bob: December care plan review"
        )
        home.as_manager()


@pytest.fixture
def story(home: Home, clock: Clock) -> Story:
    return Story(home, clock)


def access_report(ctx, first: str = "2026-11-21", last: str = "2026-11-30") -> list[str]:
    return build(
        lambda render: report_service.gp_access_report(ctx, ODS, first, last, render),
        write_access_report,
    )


def test_access_report_shows_the_period_and_nothing_outside_it(story: Story) -> None:
    text = flat(pages := access_report(story.home.ctx))

    assert "Alice: checking the warfarin dose" in text
    assert "Bob: left open after a fall" in text
    assert "Bob: December care plan review" not in text
    assert "Access sessions (2)" in text
    assert format_nhs_number(story.alice.nhs_number) in text
    assert story.nurse.nmc_pin in text
    assert "medications, allergies" in text
    assert "AUTO-CLOSED" in text
    # the refusal with its reason, and the call made instead
    assert "Refused attempts (1)" in text
    assert "Alice: second look at the dose" in text
    assert "consent was withdrawn by the resident on 22/11/2026" in text
    assert "Dose confirmed by phone" in text
    assert f"No. {story.refusal_id}" in text
    assert_every_page_marked(pages)

    december = flat(access_report(story.home.ctx, "2026-12-01", "2026-12-31"))
    assert "Bob: December care plan review" in december
    assert "Alice: checking the warfarin dose" not in december
    assert "No attempt was refused in this period." in december


def test_a_session_shows_the_consent_in_force_then_not_today(story: Story) -> None:
    def bases(report: AccessReport) -> dict[str, object]:
        return {s.resident_name: s.consent for s in report.sessions} | {
            f.resident_name: f.consent for f in report.refusals
        }

    then = report_service.gp_access_report(story.home.ctx, ODS, "2026-11-21", "2026-11-21", bases)
    alice_then = then[story.alice.full_name]
    assert (alice_then.kind, str(alice_then.decided_on)) == (ConsentKind.GRANTED, "2026-11-01")
    today = consent.consent_in_force(story.home.ctx, story.alice.id)
    assert not today.in_force and today.latest.kind is ConsentKind.WITHDRAWN

    text = flat(access_report(story.home.ctx))
    assert re.search(r"Granted 01/11/2026\s+The resident", text)  # Alice's session, before
    assert re.search(r"Withdrawn 22/11/2026\s+The resident", text)  # the refusal, after it
    assert re.search(r"Granted 02/11/2026\s+Best-interests decision: Mary Manager", text)


def test_the_printed_tree_head_is_the_signed_log_and_the_print_is_audited(story: Story) -> None:
    """The report prints the signed head of the whole log as it was read (size and Merkle root),
    the running numbers it covers, and the print's own audit entry records that head, so the
    next report to the practice can prove it extends this one."""
    ctx = story.home.ctx
    checked = audit_service.verify(ctx)
    assert checked.ok
    root = merkle.prove_log(ctx.conn).root.hex()

    text = flat(access_report(ctx))

    assert f"held {checked.head_seq:,} entries" in text and root in text
    assert re.search(r"covers entries numbered \d+ to \d+ about your practice", text)
    printed = audit.entries(ctx.conn, last=1)[0]
    assert (printed.action, printed.outcome, printed.seq) == (
        "print_reports",
        "allowed",
        checked.head_seq + 1,
    )
    details = printed.details
    assert details["tree_head"]["size"] == checked.head_seq
    assert details["tree_head"]["root"] == root
    assert (details["head_seq"], details["head_hash"]) == (checked.head_seq, checked.head_hash)
    assert details["practice"]["ods_code"] == ODS  # the print is itself about the practice


def test_the_home_is_named_with_its_ods_code_and_cqc_location(story: Story) -> None:
    ctx = story.home.ctx
    assert "Rose Court Care Home (ODS" not in flat(access_report(ctx))
    settings.change_setting(ctx, "home_ods_code", "VM123")
    settings.change_setting(ctx, "cqc_location_id", "1-123456789")
    named = "Rose Court Care Home (ODS code VM123, CQC location 1-123456789)"
    assert named in flat(access_report(ctx))
    agreement = flat(
        build(lambda render: report_service.agreement_record(ctx, 1, render), write_agreement)
    )
    assert f"Care home {named}" in agreement


def test_resident_history_for_a_subject_access_request(story: Story) -> None:
    ctx = story.home.ctx

    def history() -> str:
        return flat(
            build(
                lambda render: report_service.resident_history(ctx, story.alice.id, render),
                write_resident_history,
            )
        )

    first = history()
    assert story.alice.full_name in first
    assert format_nhs_number(story.alice.nhs_number) in first
    assert "Alice: checking the warfarin dose" in first
    assert "Bob:" not in first
    assert "Prefers the surgery to phone" in first  # the withdrawal in the consent history
    assert "consent was withdrawn by the resident on 22/11/2026" in first
    assert "Dose confirmed by phone" in first
    assert "Print reports" not in first
    entry = audit.entries(ctx.conn, last=1)[0]
    assert (entry.action, entry.resident_id) == ("print_reports", story.alice.id)
    assert "Print reports" in history()  # a later copy lists the earlier disclosure


def test_the_history_prints_what_the_paper_consent_form_recorded(home: Home) -> None:
    attorney = home.add_resident(consent_by=None)
    home.attorney_consent(attorney)
    best = home.add_resident(consent_by="best_interests")
    printed = {
        r: flat(
            build(
                lambda render, r=r: report_service.resident_history(home.ctx, r.id, render),
                write_resident_history,
            )
        )
        for r in (attorney, best)
    }
    lpa = printed[attorney]
    assert "Lacks capacity (assessed 02/11/2026)" in lpa
    assert "Impairment of mind or brain: yes, Alzheimer's disease" in lpa
    assert "Unable to: understand, weigh" in lpa
    assert "Help given: Explained twice, in the morning, with a picture leaflet" in lpa
    assert "Assessed by Nina Nurse, registered nurse" in lpa
    assert "LPA registered 15/03/2024" in lpa
    assert "Document seen 03/11/2026" in lpa and "Seen by Mary Manager, registered manager" in lpa
    assert "Known wishes: Always wanted the nurses to know" in printed[best]
    assert "LPA registered" not in printed[best]


def test_staff_list_names_nurses_and_why_some_may_not_open_records(
    home: Home, clock: Clock
) -> None:
    current = home.add_nurse()
    lapsed = home.add_nurse(nmc_checked_on="2025-10-01", nmc_expires_on="2026-09-30")
    leaver = home.add_nurse()
    staff.deactivate_staff(home.ctx, leaver.id)
    carer = home.add_staff(["carer"])

    pages = build(
        lambda render: report_service.staff_list(home.ctx, ODS, "2026-11-01", "2026-11-30", render),
        write_staff_list,
    )
    text = flat(pages)
    for nurse in (current, lapsed, leaver):
        assert nurse.full_name in text and nurse.nmc_pin in text
    assert carer.full_name not in text
    assert "30/09/2026" in text
    assert "NO: the NMC registration is not current" in text
    assert "NO: the staff account is deactivated" in text
    assert "Left in the period" in text and "21/11/2026" in text
    assert_every_page_marked(pages)


def test_consent_form_pre_filled_and_blank(story: Story) -> None:
    ctx = story.home.ctx
    story.home.log_in(story.nurse)  # nurses may print consent forms
    before = audit.head(ctx.conn)

    filled = flat(
        build(lambda r: report_service.consent_form(ctx, story.bob.id, r), write_consent_form)
    )
    blank = flat(build(lambda r: report_service.consent_form(ctx, None, r), write_consent_form))

    assert audit.head(ctx.conn) == before, "a consent form is a read, not a disclosure"
    assert story.bob.full_name in filled
    assert format_nhs_number(story.bob.nhs_number) in filled
    assert "Riverside Surgery (Y01234)" in filled
    assert "Medications" in filled and "Test results" not in filled  # the agreement's sections
    assert "Care plan review" in filled and "End of life care" not in filled
    # a blank form offers only what agreements in force allow: none here includes test results
    assert "Test results" not in blank and story.bob.full_name not in blank
    assert "Medications" in blank
    for text in (filled, blank):
        for part in (
            "A. The resident's own decision",
            "B. Capacity assessment",
            "C. Decision by a representative",
            "Court order reference",
            "D. Best-interests decision",
            "People consulted",
            "E. Witness and record",
            "withdrawn at any time",
            "the nurse phones the GP",
        ):
            assert part in text, part


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx, r: report_service.gp_access_report(ctx, ODS, "2026-11-01", "2026-11-30", r),
        lambda ctx, r: report_service.staff_list(ctx, ODS, "2026-11-01", "2026-11-30", r),
        lambda ctx, r: report_service.consent_register(ctx, r),
        lambda ctx, r: report_service.resident_history(ctx, 1, r),
        lambda ctx, r: report_service.consent_form(ctx, 1, r),
        lambda ctx, r: report_service.recovery_sheet(ctx, "0" * 65, r),
    ],
)
def test_carers_may_print_nothing(home: Home, call: Callable) -> None:
    home.add_resident()
    home.log_in(home.add_staff(["carer"]))
    rendered = []

    with pytest.raises(PermissionDenied) as refused:
        call(home.ctx, rendered.append)

    assert rendered == []
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome) == (refused.value.action, "denied")
    assert entry.action in ("print_reports", "print_consent_form")


def test_a_nurse_may_not_print_the_access_report(home: Home) -> None:
    home.log_in(home.add_nurse())
    with pytest.raises(PermissionDenied, match="registered manager, not a registered nurse"):
        report_service.gp_access_report(home.ctx, ODS, "2026-11-01", "2026-11-30", print)


def test_bad_periods_and_practices_are_named(home: Home) -> None:
    with pytest.raises(ValidationError) as bad:
        report_service.gp_access_report(home.ctx, ODS, "2026-11-30", "2026-11-01", print)
    assert bad.value.field == "last_day"
    with pytest.raises(ValidationError) as bad:
        report_service.staff_list(home.ctx, "Y99999", "2026-11-01", "2026-11-30", print)
    assert bad.value.field == "ods_code"


# -- saving: whole or not at all ---------------------------------------------------------------


def test_saved_report_is_private_and_written_beside_its_target(
    story: Story, tmp_path: Path
) -> None:
    target = tmp_path / "reports" / "november.pdf"
    target.parent.mkdir()
    seen = {}

    def render(report: AccessReport) -> int:
        seen["files"] = sorted(p.name for p in target.parent.iterdir())
        seen["mode"] = stat.S_IMODE(os.fstat(out.fileno()).st_mode)
        return write_access_report(report, out)

    with atomic_output(target) as out:
        report_service.gp_access_report(story.home.ctx, ODS, "2026-11-01", "2026-11-30", render)

    assert len(seen["files"]) == 1 and seen["files"][0].startswith(".november.pdf.")
    assert seen["mode"] == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["november.pdf"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert "Alice: checking the warfarin dose" in flat(pages_of(target.read_bytes()))


def test_a_failed_write_leaves_no_partial_file_and_records_no_disclosure(
    story: Story, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "reports" / "november.pdf"
    target.parent.mkdir()
    target.write_bytes(b"last month's report")
    before = audit.head(story.home.ctx.conn)

    def disk_full(canvas: Canvas) -> None:
        canvas._filename.write(b"%PDF-1.4 half a report")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Canvas, "save", disk_full)
    with pytest.raises(OSError, match="No space"), atomic_output(target) as out:
        report_service.gp_access_report(
            story.home.ctx,
            ODS,
            "2026-11-01",
            "2026-11-30",
            lambda report: write_access_report(report, out),
        )

    assert target.read_bytes() == b"last month's report"
    assert [p.name for p in target.parent.iterdir()] == ["november.pdf"]
    assert audit.head(story.home.ctx.conn) == before
    assert gc.isenabled()  # paused while the report was built, not left off by the failure


def test_the_cycle_collector_is_paused_only_while_a_report_is_built(story: Story) -> None:
    during = report_service.gp_access_report(
        story.home.ctx, ODS, "2026-11-01", "2026-11-30", lambda report: gc.isenabled()
    )

    assert during is False
    assert gc.isenabled()


def test_progress_is_reported_as_rows_are_laid_out(story: Story) -> None:
    calls: list[tuple[int, int]] = []
    report_service.gp_access_report(
        story.home.ctx,
        ODS,
        "2026-11-01",
        "2026-11-30",
        lambda report: write_access_report(report, io.BytesIO(), lambda *p: calls.append(p)),
    )
    assert calls[-1] == (4, 4)  # two sessions, one refusal, one call


def test_names_beyond_latin_1_print_as_letters_not_boxes(home: Home) -> None:
    resident = residents.add_resident(
        home.ctx, next(home.numbers), "Łucja", "Dvořák-Şahin", "1941-03-04", ODS, room="7"
    )
    text = flat(
        build(lambda r: report_service.consent_form(home.ctx, resident.id, r), write_consent_form)
    )
    assert "Łucja Dvořák-Şahin" in text


def test_a_word_wider_than_its_column_is_broken_to_fit() -> None:
    lines = _wrapped("NHS" + "9" * 80 + " end", FONT, 7, 50.0)
    assert len(lines) > 2 and lines[-1] == "end"
    assert all(stringWidth(line, FONT, 7) <= 50 for line in lines)


def test_the_next_access_report_says_a_backup_was_restored(
    story: Story, clock: Clock, db_path: Path, tmp_path: Path
) -> None:
    """Restoring an older copy removes what came after it: the practice is told, not left to
    notice entries missing."""
    ctx = story.home.ctx
    backup_file = tmp_path / "friday.db"
    backup_service.back_up(ctx, backup_file)
    consent.record_consent(ctx, story.bob.id, "withdrawn", "resident", reason="Changed mind")
    auth.log_out(ctx)
    ctx.vault.close()

    clock.advance(hours=1)
    backup_service.restore(
        backup_file, db_path, username="manager", password=MANAGER_PASSWORD, clock=clock
    )
    restored = Context(Vault.open_as(db_path, "manager", MANAGER_PASSWORD), clock=clock)
    auth.log_in(restored, "manager", MANAGER_PASSWORD)
    text = flat(access_report(restored))
    assert "DATABASE RESTORED FROM A BACKUP" in text
    assert "friday.db" in text and "Mary Manager restored the database" in text
    restored.vault.close()


# -- what a reviewer relies on (issue 15) -------------------------------------------------------


def font_sizes(pdf: bytes) -> list[tuple[float, str]]:
    """The size, as printed, of every run of text on every page, with the text."""
    runs: list[tuple[float, str]] = []

    def seen(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            runs.append((round(size * abs(tm[3]) * abs(cm[3]), 2), text.strip()))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=seen)
    return runs


def test_a_session_opened_with_the_consent_review_overdue_says_so(home: Home) -> None:
    overdue = home.add_resident(consent_by=None)
    consent.record_consent(
        home.ctx, overdue.id, "granted", "resident", decided_on="2026-01-10", review_on="2026-11-01"
    )
    nurse = home.add_nurse()
    home.log_in(nurse)
    access.open_access_session(home.ctx, overdue.id, "medication_check", "Checking the dose")
    home.as_manager()

    text = flat(access_report(home.ctx))

    assert re.search(r"Granted 10/01/2026\s+The resident\s+REVIEW OVERDUE \(due 01/11/2026\)", text)
    assert "(!)" in text  # the row is marked in words, not only shaded
    assert "Review due 30/06/2027" in text  # the agreement's own review date


def test_the_access_report_prints_residency_workstation_and_unanswered_refusals(
    story: Story,
) -> None:
    text = flat(access_report(story.home.ctx))

    assert "Residents and their stays in the period" in text
    assert re.search(
        rf"{story.alice.full_name} {format_nhs_number(story.alice.nhs_number)} 01/11/2026 00:00 "
        r"still here",
        text,
    )
    assert "at nurses-station-1" in text  # the workstation of each session and refusal
    assert f"NMC {story.nurse.nmc_pin}" in text  # a refusal names the nurse's PIN
    assert "Call to the practice" in text and re.search(r"\bYes\b", text)
    assert "nurse's own record" in text and "audit trail in its clinical system" in text
    assert '"print reports" entry' in text
    assert "INCOMPLETE PERIOD" not in text  # printed on 02/12, after the period


def test_a_refusal_no_call_followed_is_flagged(home: Home, clock: Clock) -> None:
    played = play_november(home, clock)
    home.as_manager()
    text = flat(access_report(home.ctx))
    assert f"(!) {played.refusal_id}" in text and "NONE LOGGED" in text
    assert "INCOMPLETE PERIOD: printed on 22/11/2026" in text  # the period runs to 30/11


def test_an_empty_period_counts_whole_sessions_on_its_chart(home: Home) -> None:
    text = flat(access_report(home.ctx, "2026-01-01", "2026-01-31"))
    assert "Access sessions (0)" in text and "0.00" not in text  # no steps of 0.002


def test_long_sessions_show_minutes_and_seconds(story: Story) -> None:
    text = flat(access_report(story.home.ctx))
    assert re.search(r"\b5:00\b", text)  # Alice's five-minute session
    assert "Min:sec" in text


def test_the_resident_history_answers_a_subject_access_request(story: Story) -> None:
    ctx = story.home.ctx
    access_report(ctx)  # a report that carries Alice's records to the practice

    text = flat(
        build(
            lambda render: report_service.resident_history(ctx, story.alice.id, render),
            write_resident_history,
        )
    )

    for words in (
        "controller of this record of access",
        "Who receives it",
        "How long it is kept",
        "withdraw consent at any time",
        "Information Commissioner's Office",
        "covers access to the GP record only",
        "AUTO-CLOSED means",
    ):
        assert words in text, words
    assert re.search(
        r"Sent to the GP practice .* GP access report \(PDF\) 21/11/2026 to 30/11/2026", text
    )
    assert " allowed " not in f" {text} "


def test_the_consent_form_gives_the_two_stage_test_and_the_rights(story: Story) -> None:
    ctx = story.home.ctx
    text = flat(
        build(lambda r: report_service.consent_form(ctx, story.bob.id, r), write_consent_form)
    )

    for words in (
        "impairment of, or a disturbance in the functioning of, the mind or brain",
        "understand the information",
        "retain that information",
        "use or weigh that information",
        "communicate the decision",
        "HAS capacity",
        "LACKS capacity",
        "Steps taken to help the resident decide",
        "Assessed by",
        "LPA registered on",
        "LPA seen on",
        "Court order reference",
        "Access ends when the resident leaves the home",
        "controller",
        "privacy notice",
        "ico.org.uk",
    ):
        assert words in text, words


def test_an_ended_agreement_is_never_shown_as_current(home: Home, clock: Clock) -> None:
    practices.add_practice(home.ctx, "Old Mill Surgery", "Y09999")
    practices.add_agreement(
        home.ctx,
        "Y09999",
        starts_on="2024-01-01",
        ends_on="2026-02-28",
        purposes=["medication_check"],
        sections=["test_results"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Old",
    )
    resident = residents.add_resident(
        home.ctx, next(home.numbers), "Olive", "Mill", "1930-01-01", "Y09999"
    )
    residents.admit(home.ctx, resident.id, at="2026-11-01")
    consent.record_consent(home.ctx, resident.id, "granted", "resident", decided_on="2026-11-01")

    form = flat(
        build(lambda r: report_service.consent_form(home.ctx, resident.id, r), write_consent_form)
    )
    blank = flat(
        build(lambda r: report_service.consent_form(home.ctx, None, r), write_consent_form)
    )
    register = flat(
        build(lambda r: report_service.consent_register(home.ctx, r), write_consent_register)
    )

    assert "runs until 28/02/2026" not in form and "No data sharing agreement" in form
    assert "Test results" not in form and "Test results" not in blank
    assert re.search(
        r"\(!\) Olive Mill .* Yes, but may NOT open .* Agreement ended 28/02/2026", register
    )


def test_the_staff_list_prints_training_and_confidentiality_and_flags_old_training(
    home: Home,
) -> None:
    fresh = home.add_nurse(ig_training_on="2026-06-01", confidentiality_signed_on="2026-06-02")
    stale = home.add_staff(["nurse", "manager"], ig_training_on="2025-06-01")

    text = flat(
        build(
            lambda r: report_service.staff_list(home.ctx, ODS, "2026-11-01", "2026-11-30", r),
            write_staff_list,
        )
    )

    assert re.search(
        rf"{fresh.full_name} Registered nurse {fresh.nmc_pin} .* 01/06/2026 02/06/2026", text
    )
    assert f"(!) {stale.full_name}" in text and "OVER A YEAR AGO" in text
    assert "also registered manager" in text


@pytest.mark.parametrize("document", ["access", "history", "form", "register", "staff"])
def test_every_document_has_no_text_under_8_pt_and_its_language_and_title(
    story: Story, document: str
) -> None:
    ctx = story.home.ctx
    read, write = {
        "access": (
            lambda r: report_service.gp_access_report(ctx, ODS, "2026-11-21", "2026-11-30", r),
            write_access_report,
        ),
        "history": (
            lambda r: report_service.resident_history(ctx, story.alice.id, r),
            write_resident_history,
        ),
        "form": (lambda r: report_service.consent_form(ctx, None, r), write_consent_form),
        "register": (lambda r: report_service.consent_register(ctx, r), write_consent_register),
        "staff": (
            lambda r: report_service.staff_list(ctx, ODS, "2026-11-01", "2026-11-30", r),
            write_staff_list,
        ),
    }[document]
    out = io.BytesIO()
    read(lambda d: write(d, out))

    sizes = font_sizes(out.getvalue())
    assert sizes and min(size for size, _ in sizes) >= 8, sorted(sizes)[:5]
    body = [size for size, _ in sizes]
    assert sorted(body)[len(body) // 2] >= 9  # most of the text is body text, 9 pt or more
    pdf = PdfReader(io.BytesIO(out.getvalue()))
    assert pdf.trailer["/Root"]["/Lang"] == "en-GB"
    assert pdf.metadata.title and pdf.trailer["/Root"]["/ViewerPreferences"]["/DisplayDocTitle"]


def test_what_became_of_a_document_is_its_own_step_naming_the_document(home: Home) -> None:
    report_service.staff_list(
        home.ctx, ODS, "2026-11-01", "2026-11-21", render=lambda document: None
    )
    made = report_service.document_entry(home.ctx)
    assert audit.entries(home.ctx.conn, last=1)[0].seq == made
    report_service.record_print_outcome(home.ctx, made, "cancelled")
    (entry,) = audit.entries(home.ctx.conn, last=1)
    assert (entry.action, entry.outcome) == ("record_print_outcome", "allowed")
    assert entry.details == {
        "document_seq": made,
        "document": "staff_list",
        "outcome": "cancelled",
    }
    with pytest.raises(ValidationError):
        report_service.record_print_outcome(home.ctx, made, "shredded")
    with pytest.raises(NotFound):
        report_service.record_print_outcome(home.ctx, entry.seq, "printed")  # not a document
