"""The DPIA and agreement pack: pre-filled from the home's own configuration, managers only,
recorded as a print; the same words in the signed PDF and the editable DOCX."""

import io
from collections.abc import Iterator

import docx
import keyring
import pytest
from keyring.backends import fail

from carehome_share.domain.errors import PermissionDenied
from carehome_share.reports.dpia import dpia_outline, write_dpia, write_dpia_docx
from carehome_share.reports.outline import Blanks, Bullets, Facts, Grid, Heading, Outline, Text
from carehome_share.services import practices, reports, settings
from carehome_share.store import audit, keychain
from tests.factories import ODS, Home
from tests.test_signing import pdf_text


def dpia_pdf(home: Home, agreement_id: int = 1) -> str:
    out = io.BytesIO()
    reports.dpia_pack(home.ctx, agreement_id, lambda pack: write_dpia(pack, out))
    return pdf_text(out.getvalue()).replace("\x7f ", "")  # pypdf reads a bullet as DEL


def dpia_docx(home: Home) -> docx.document.Document:
    out = io.BytesIO()
    reports.dpia_pack(home.ctx, 1, lambda pack: write_dpia_docx(pack, out), editable=True)
    return docx.Document(io.BytesIO(out.getvalue()))


def words_of(outline: Outline) -> Iterator[str]:
    """Every piece of text the outline holds: what both copies must show."""
    yield outline.title
    for part in outline.parts:
        match part:
            case Heading(text) | Text(text):
                yield text
            case Bullets(items) | Blanks(items):
                yield from items
            case Facts(rows):
                yield from (x for row in rows for x in row)
            case Grid(columns, rows):
                yield from (title for title, _share in columns)
                yield from (cell for row in rows for cell in row if cell)


def docx_text(document: docx.document.Document) -> str:
    cells = (
        cell.text
        for table in document.tables
        for row in table.rows
        for cell in row.cells  # a merged cell repeats: harmless here
    )
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def test_a_manager_gets_the_pack_filled_in_from_the_home_and_the_print_is_audited(
    home: Home,
) -> None:
    home.add_nurse()
    home.add_resident()
    text = dpia_pdf(home)
    assert "Data protection impact assessment: sharing GP records with Riverside Surgery" in text
    assert "Riverside Surgery (ODS code Y01234)" in text
    assert "in force from 01/01/2026 to 31/12/2027; review by 30/06/2027" in text
    for step in ("Step 1", "Step 2", "Step 3", "Step 4", "Step 5", "Step 6", "Step 7"):
        assert step in text
    # the agreement's parts and purposes, and what it leaves out
    assert "Summary Medications Allergies Problems" in text
    assert "Not needed, and never offered to the nurse: Test results, Consultations" in text
    assert "Medication check Clinical assessment Care plan review" in text
    # scope, roles and the nurses who may open records now
    assert "1 people registered with Riverside Surgery are resident now" in text
    assert "Carer nothing with GP records or consent" in text
    assert "Registered nurse open a resident's GP record, when every access rule holds" in text
    assert "Registered nurses with an account now: 1, of whom 1 may open records today" in text
    assert "Staff Member 1 01A0001E 01/10/2026 30/09/2027 not recorded Yes" in text
    # the consent model, with the practice's phone for the fallback
    assert "phones Riverside Surgery on 01632 960000 instead" in text
    assert "Mental Capacity Act 2005" in text
    # the settings and security measures in force
    assert "closes itself after 30 minutes (Settings)" in text
    assert "5 wrong passwords in 5 minutes lock the account for 15 minutes" in text
    assert "the screen locks after 5 minutes" in text
    assert "a reminder 365 days after each check" in text
    assert "due every 31 days" in text
    assert "2 staff key slots" in text  # the manager's and the nurse's
    assert f"kept in {keychain.describe()}" in text
    assert reports.home_fingerprint(home.ctx) in text
    assert "carehome-share has no retention setting" in text
    # the risks it does not address, and the blanks only people fill
    assert "A photograph of the screen" in text
    assert "The GP system's own access control" in text
    assert "altering entries made since the last report" in text
    assert "Residual risks approved by" in text and "DPO or IG lead" in text
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome) == ("print_reports", "allowed")
    assert entry.details["document"] == "dpia_pack"
    assert (entry.details["agreement_id"], entry.details["ods_code"]) == (1, ODS)
    assert entry.details["editable"] is False
    assert f"{entry.details['head_seq']} entries now" in text


def test_a_nurse_is_refused_the_pack_and_the_refusal_audited(home: Home) -> None:
    home.log_in(home.add_nurse())
    with pytest.raises(PermissionDenied) as refused:
        reports.dpia_pack(home.ctx, 1, print)
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome) == (refused.value.action, "denied")
    assert refused.value.action == "print_reports"


def test_the_pack_changes_when_the_configuration_does(home: Home, clock) -> None:
    nurse = home.add_nurse()
    before = dpia_pdf(home)
    assert "the screen locks after 5 minutes" in before

    settings.change_setting(home.ctx, "idle_lock_minutes", "10")
    settings.change_setting(home.ctx, "lockout_failures", "8")
    settings.change_setting(home.ctx, "report_due_days", "14")
    after = dpia_pdf(home)
    assert "the screen locks after 10 minutes" in after
    assert "8 wrong passwords in 5 minutes" in after
    assert "due every 14 days" in after

    newer = practices.add_agreement(
        home.ctx,
        ODS,
        starts_on="2026-12-01",
        purposes=["hospital_transfer"],
        sections=["medications", "test_results"],
        home_signatory="Mary Manager",
        practice_signatory="Dr Omar Other",
    )
    second = dpia_pdf(home, newer.id)
    assert "Hospital admission or discharge" in second and "Medication check" not in second
    assert "Medications Test results" in second
    assert "Not needed, and never offered to the nurse: Summary, Allergies, Problems" in second
    assert "with no end date; review by no review date set" in second
    assert "signed for it by Dr Omar Other" in second

    home.add_nurse(confidentiality_signed_on="2026-10-02", nmc_expires_on="2028-09-30")
    assert "with an account now: 2, of whom 2 may open records today" in dpia_pdf(home)
    clock.set("2027-10-01T09:00:00")  # the first nurse's registration lapsed the day before
    lapsed = dpia_pdf(home)
    assert "with an account now: 2, of whom 1 may open records today" in lapsed
    assert f"{nurse.full_name} {nurse.nmc_pin} 01/10/2026 30/09/2027 not recorded No: " in lapsed
    assert "Staff Member 2 02A0002E 01/10/2026 30/09/2028 02/10/2026 Yes" in lapsed

    keyring.set_keyring(fail.Keyring())  # this PC has no secure keychain
    assert "no secure keychain on this computer" in dpia_pdf(home)


def test_the_editable_copy_holds_the_same_words_as_the_signed_pdf(home: Home) -> None:
    home.add_nurse()
    pack = reports.dpia_pack(home.ctx, 1, lambda read: read)  # both copies from one read
    pdf, editable = io.BytesIO(), io.BytesIO()
    write_dpia(pack, pdf)
    write_dpia_docx(pack, editable)
    document = docx.Document(io.BytesIO(editable.getvalue()))
    text = docx_text(document)
    flat_docx = " ".join(text.split())
    flat_pdf = pdf_text(pdf.getvalue())
    outline = dpia_outline(pack)
    for words in words_of(outline):
        assert words in text
        assert " ".join(words.split()) in flat_docx
        # the PDF wraps lines and may break a paragraph across pages, between its header lines
        assert " ".join(words.split()[:6]) in flat_pdf
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [p.text for p in outline.parts if isinstance(p, Heading)]
    assert document.paragraphs[0].text == outline.title
    assert "Draft for the home to complete" in document.paragraphs[1].text
    header = document.sections[0].header.paragraphs[0].text
    assert "Rose Court Care Home" in header and "CONFIDENTIAL: contains personal data" in header
    # blank cells to write in
    sign_off = next(t for t in document.tables if t.rows[0].cells[0].text == "Item")
    assert sign_off.rows[1].cells[0].text == "Measures approved by"
    assert sign_off.rows[1].cells[1].text.strip() == ""


def test_the_editable_copy_is_recorded_as_such(home: Home) -> None:
    document = dpia_docx(home)
    assert document.core_properties.title == "DPIA: Riverside Surgery, agreement 1"
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.details["document"], entry.details["editable"]) == ("dpia_pack", True)
