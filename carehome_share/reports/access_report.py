"""The GP access report: every access to one practice's records in a period, every refusal and
call, exceptions highlighted, totals, a weekly chart, the audit chain head and a sign-off block
for the practice's reviewer."""

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from math import ceil
from typing import BinaryIO

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from carehome_share.domain.evidence import BUNDLE_FILE, EVIDENCE_FILE
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.interop import fhir
from carehome_share.reports.fonts import BOLD, FONT
from carehome_share.reports.page import (
    LANDSCAPE,
    SMALL,
    SUBHEADING,
    TITLE,
    Letterhead,
    blanks,
    build,
    bullets,
    facts,
    heading,
    para,
    qr_box,
    spacer,
    uk_day,
    uk_time,
)
from carehome_share.reports.rows import (
    AUTO_CLOSED,
    ENDED,
    FLAG,
    LONG,
    REFUSED,
    agreement_text,
    contact_columns,
    contact_row,
    refusal_columns,
    refusal_row,
    session_columns,
    session_row,
)
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Progress, Row, table
from carehome_share.services.reports import AccessReport
from carehome_share.store.report_queries import Totals


def _week_chart(weeks: tuple[tuple[date, int], ...], width: float) -> Drawing:
    drawing = Drawing(width, 48 * mm)
    drawing.add(String(0, 44 * mm, "Sessions per week (week starting)", fontName=BOLD, fontSize=8))
    chart = VerticalBarChart()
    chart.x, chart.y = 10 * mm, 9 * mm
    chart.width, chart.height = width - 14 * mm, 32 * mm
    chart.data = [[count for _, count in weeks]]
    every = max(1, ceil(len(weeks) / 12))
    chart.categoryAxis.categoryNames = [
        monday.strftime("%d/%m") if i % every == 0 else "" for i, (monday, _) in enumerate(weeks)
    ]
    for axis in (chart.categoryAxis.labels, chart.valueAxis.labels):
        axis.fontName, axis.fontSize = FONT, 8
    chart.categoryAxis.labels.dy = -2
    chart.valueAxis.valueMin = 0
    chart.valueAxis.forceZero = True
    # whole sessions: with none at all the axis would otherwise count in steps of 0.002
    highest = max((count for _, count in weeks), default=0)
    chart.valueAxis.valueMax = max(4, highest)
    chart.valueAxis.valueStep = max(1, ceil(max(4, highest) / 5))
    chart.bars[0].fillColor = colors.HexColor("#4A6FA5")
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing


def _summary(report: AccessReport) -> Table:
    s = report.summary
    rows = [
        ("Sessions (GP record opened)", s.sessions),
        ("Residents whose record was opened", s.residents),
        ("Nurses who opened records", s.nurses),
        ("Auto-closed: left open past the limit", s.auto_closed),
        (f"Longer than {report.long_minutes} minutes", s.long),
        ("Ended by a change to the rules", s.ended),
        ("On the nurse's own best-interests decision", s.decided_by_self),
        ("Refused attempts", s.refusals),
        ("Calls to the practice logged", s.contacts),
    ]
    summary = Table(
        [[para(label, SMALL), para(f"{n:,}", SMALL)] for label, n in rows],
        colWidths=[60 * mm, 20 * mm],
        hAlign="LEFT",
    )
    summary.setStyle(
        TableStyle(
            [
                ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.grey),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("BACKGROUND", (0, 3), (-1, 3), AUTO_CLOSED if s.auto_closed else None),
                ("BACKGROUND", (0, 4), (-1, 4), LONG if s.long else None),
                ("BACKGROUND", (0, 5), (-1, 5), ENDED if s.ended else None),
                ("BACKGROUND", (0, 6), (-1, 6), LONG if s.decided_by_self else None),
                ("BACKGROUND", (0, 7), (-1, 7), REFUSED if s.refusals else None),
            ]
        )
    )
    return summary


def _totals_rows(rows: list[Totals], nhs: bool) -> Iterator[Row]:
    for t in rows:
        identifier = format_nhs_number(t.identifier) if nhs else t.identifier or "-"
        shade = REFUSED if t.refusals else AUTO_CLOSED if t.auto_closed else None
        yield Row(
            [
                t.name,
                identifier,
                str(t.sessions),
                str(t.auto_closed),
                str(t.refusals),
                str(t.contacts),
            ],
            shade,
        )


def _totals_columns(who: str, identifier: str) -> list[Column]:
    return [
        Column(who, 0.25),
        Column(identifier, 0.12),
        Column("Sessions", 0.08),
        Column("Auto-closed", 0.08),
        Column("Refused", 0.08),
        Column("Calls", 0.08),
    ]


def _story(report: AccessReport, progress: Progress) -> list[Flowable]:
    practice, s = report.practice, report.summary
    width = LANDSCAPE[0] - 30 * mm
    overview = Table(
        [[_summary(report), _week_chart(report.weeks, width - 95 * mm)]],
        colWidths=[90 * mm, width - 90 * mm],
        hAlign="LEFT",
    )
    overview.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    agreements = [agreement_text(a, report.today) for a in report.agreements] or [
        "No data sharing agreement was in force in this period."
    ]
    long_minutes = report.long_minutes
    return [
        para(f"GP record access report: {practice.name} ({practice.ods_code})", TITLE),
        facts(
            [
                ("Period", _period(report)),
                ("Prepared by", f"{report.printed.by} at {report.printed.home}"),
                *[("Data sharing agreement", text) for text in agreements],
            ],
            widths=(40 * mm, width - 40 * mm),
        ),
        spacer(),
        overview,
        spacer(),
        _signed_head(report),
        spacer(),
        *[para(f"DATABASE RESTORED FROM A BACKUP. {note}") for note in report.restores],
        *bullets(
            [
                "Each session below is one nurse opening this practice's record of one resident: "
                "why, what they looked at, and the consent decision in force at that moment "
                "(a later change of consent does not alter it).",
                f"Rows marked {FLAG} need a second look (also shaded, for colour prints): "
                "AUTO-CLOSED, left open and closed by the app (orange); LONG, open more than "
                f"{long_minutes} minutes, the home's setting (yellow); ENDED by a change, when "
                "the rules stopped allowing the session, such as a consent withdrawn or a "
                "discharge while the record was open (lilac); REVIEW OVERDUE, the consent's "
                "review date had passed, as the nurse was warned on screen; refused attempts "
                "(red), with NONE LOGGED where no call to the practice followed.",
                "Marked DECIDED AND LOOKED: a session that stands on a best-interests decision "
                "made by the same member of staff who opened the record (allowed, as a small "
                "home may have no one else, but for the practice to see).",
                '"Sections viewed" is the nurse\'s own record of what she looked at. The other '
                "half is the practice's own audit trail in its clinical system (EMIS Web, "
                "SystmOne or Vision: the record-access audit): compare the two.",
                "Times are UK local time; NHS numbers are shown 3-3-4.",
                "Printing this report is itself recorded in the home's audit log: a "
                '"print reports" entry, made just after the log head shown above '
                f"(entry {report.head.seq}), names this practice and period; your next "
                "report lists it.",
            ]
        ),
        *heading("Residents and their stays in the period"),
        table(
            [
                Column("Resident", 0.25),
                Column("NHS number", 0.15),
                Column("Admitted", 0.2),
                Column("Discharged", 0.2),
            ],
            _residency_rows(report),
            "No resident is named in this period.",
        ),
        *heading(f"Access sessions ({s.sessions:,})"),
        table(
            session_columns(),
            (session_row(x, long_minutes) for x in progress.counted(report.sessions)),
            "No GP record of this practice was opened in this period.",
        ),
        *heading(f"Refused attempts ({s.refusals:,})"),
        table(
            refusal_columns(),
            (
                refusal_row(x, x.id in report.followed_up, report.refusal_pins.get(x.id, ""))
                for x in progress.counted(report.refusals)
            ),
            "No attempt was refused in this period.",
        ),
        *heading(f"Calls to the practice instead ({s.contacts:,})"),
        table(
            contact_columns(),
            (contact_row(x) for x in progress.counted(report.contacts)),
            "No call to the practice was logged in this period.",
        ),
        *heading("Totals per resident"),
        table(
            _totals_columns("Resident", "NHS number"),
            _totals_rows(report.resident_totals, nhs=True),
            "No resident's record was involved.",
        ),
        *heading("Totals per member of staff"),
        table(
            _totals_columns("Member of staff", "NMC PIN"),
            _totals_rows(report.nurse_totals, nhs=False),
            "No member of staff was involved.",
        ),
        *heading("Review and sign-off by the GP practice"),
        para(
            f"I have reviewed this report of access to {practice.name}'s patient records by "
            f"{report.printed.home_name} from {uk_day(report.first_day)} to "
            f"{uk_day(report.last_day)}. Concerns, and what was agreed with the home, are "
            "written below."
        ),
        spacer(),
        blanks(["Reviewer's name", "Role", "Signature", "Date"], width * 0.8),
        spacer(),
        blanks(["Concerns", "", "", ""], width * 0.8, per_row=1),
    ]


def _period(report: AccessReport) -> str:
    text = f"{uk_day(report.first_day)} to {uk_day(report.last_day)} (UK time)"
    if report.last_day >= report.today:
        text += (
            f". INCOMPLETE PERIOD: printed on {uk_day(report.today)}, before the period ended; "
            "later access is not in this report."
        )
    return text


def _residency_rows(report: AccessReport) -> Iterator[Row]:
    """Each resident with their stays in the period: access is lawful only while resident."""
    for resident, stays in report.residencies:
        name, nhs = resident.full_name, format_nhs_number(resident.nhs_number)
        if not stays:
            yield Row([name, nhs, "NOT RESIDENT in this period", "-"], REFUSED)
        for stay in stays:
            yield Row(
                [name, nhs, uk_time(stay.admitted_at), uk_time(stay.discharged_at, "still here")]
            )


def _signed_head(report: AccessReport) -> Flowable:
    """The signed tree head (as text and as a QR code for the next report's check), the running
    numbers covered, and what the practice can check with them, and what not."""
    assert report.evidence is not None
    head = report.evidence.data["tree_head"]
    numbers = report.evidence.numbers
    covered = (
        f"entries numbered {numbers['first']} to {numbers['last']} about your practice"
        if numbers["first"] is not None
        else "no entry about your practice (none was made in this period)"
    )
    fingerprint = report.evidence.data["home"]["fingerprint"]
    text = [
        Paragraph("Signed audit log head and how to check this report", SUBHEADING),
        para(
            f"The home's audit log held {head['size']:,} entries at {head['time']} (UTC), "
            f"Merkle root {head['root']}; this report covers {covered}. The home's key "
            f"fingerprint: {fingerprint}."
        ),
        para(
            "Check it yourself, with no access to the home's files: carehome-share check-report "
            "THIS.pdf --previous THE-LAST-REPORT.pdf --fingerprint 'the fingerprint on your "
            "authorised staff list'. It proves the document is as the home signed it, every "
            "entry listed is in the home's log, no entry about your practice is missing "
            "between this report and the last one, and nothing the last report showed was "
            "changed, removed or rolled back since. It cannot prove what happened after this "
            "report was made, or that entries made after the last report were not altered by "
            "someone with a manager's password before this one: ask for reports regularly.",
            SMALL,
        ),
    ]
    return qr_box(text, json.dumps(head, separators=(",", ":")), 34 * mm)


def _attachments(report: AccessReport) -> dict[str, bytes | Iterable[bytes]]:
    """What `carehome-share check-report` reads: the evidence, and the rows as a FHIR Bundle
    (made and compressed in pieces while the pages are laid out)."""
    assert report.evidence is not None and report.fhir is not None
    return {
        EVIDENCE_FILE: report.evidence.to_bytes(),
        BUNDLE_FILE: fhir.encoded_in_pieces(report.fhir, report.evidence),
    }


def write_access_report(
    report: AccessReport, out: BinaryIO, progress: Callable[[int, int], None] | None = None
) -> int:
    """Write the report as PDF to `out`; return the number of pages. `progress(done, total)` is
    called as rows are laid out."""
    s = report.summary
    counter = Progress(progress, s.sessions + s.refusals + s.contacts)
    head = Letterhead(
        report.printed.home_name,
        f"GP record access report: {report.practice.name}, "
        f"{uk_day(report.first_day)} to {uk_day(report.last_day)}",
        report.printed.at,
        signer=signer_of(report.printed, _attachments(report)),
    )
    pages = build(out, head, _story(report, counter), LANDSCAPE)
    counter.finish()
    return pages
