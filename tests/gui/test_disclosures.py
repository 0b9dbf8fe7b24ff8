"""The Disclosures page: a carer logs a request she received; the manager sees it, records the
checks, is told beside the field when a disclosure lacks them, decides, and prints the register."""

from carehome_share.gui import disclosures as page_module
from carehome_share.services import disclosures
from carehome_share.store import audit
from tests.factories import Home
from tests.gui.conftest import text_of
from tests.gui.test_manager import dialog_of, fill, find_button, ok, press, show_tab
from tests.gui.test_printing import shown_preview


def test_a_carer_logs_a_request_and_sees_no_one_elses(qtbot, home: Home, open_window) -> None:
    resident = home.add_resident()
    home.log_in(home.add_staff(["carer"]))
    window = open_window()
    page = show_tab(window, "&Disclosures")
    assert not page.table.isVisibleTo(page)  # deciders only: nothing of others' requests
    press(qtbot, page, "Log a request…")
    dialog = dialog_of(qtbot, page_module.LogDialog)
    assert dialog.sizeHint().height() <= 740  # Save and Cancel stay on a 1366x768 screen
    dialog.form.fields["requester"].setCurrentIndex(
        dialog.form.fields["requester"].findData("insurer")
    )
    fill(qtbot, dialog, organisation="Acme Insurance", person="Claims handler")
    ok(qtbot, dialog)
    assert dialog.form.errors["asked"].isVisible()  # nothing written yet
    fill(qtbot, dialog, asked="Her medical history", why="A claim on her travel policy")
    ok(qtbot, dialog)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    home.as_manager()
    (logged,) = disclosures.list_requests(home.ctx)
    assert (logged.organisation, logged.resident_ids) == ("Acme Insurance", (resident.id,))
    assert logged.logged_by.startswith("Staff Member")


def test_the_manager_checks_decides_and_prints_the_register(qtbot, home: Home, open_window) -> None:
    resident = home.add_resident()
    disclosures.log_request(
        home.ctx,
        requester="police",
        organisation="Anyshire Police",
        person="DC Sam Patel",
        resident_ids=[resident.id],
        asked="Dates of her stay",
        why="A theft from her room",
        basis="crime",
    )
    window = open_window()
    page = show_tab(window, "&Disclosures")
    qtbot.waitUntil(lambda: page.table.source.rowCount() == 1)
    page.table.selectRow(0)
    assert "Identity: NOT verified yet" in page.detail.toPlainText()

    press(qtbot, page, "Decide…")
    decide = dialog_of(qtbot, page_module.DecideDialog)
    fill(qtbot, decide, reasons="Crime exemption", disclosed="Admission date", sent_how="Email")
    ok(qtbot, decide)
    assert decide.form.errors["emergency"].isVisible()
    assert "identity is not verified" in decide.form.errors["emergency"].text()
    decide.reject()

    press(qtbot, page, "Record checks…")
    checks = dialog_of(qtbot, page_module.ChecksDialog)
    fill(qtbot, checks, identity_check="Warrant card seen")
    checks.form.fields["in_writing"].setChecked(True)
    ok(qtbot, checks)
    qtbot.waitUntil(lambda: "Identity: Warrant card seen" in page.detail.toPlainText())

    press(qtbot, page, "Decide…")
    decide = dialog_of(qtbot, page_module.DecideDialog)
    decide.form.fields["outcome"].setCurrentIndex(
        decide.form.fields["outcome"].findData("disclose_part")
    )
    fill(qtbot, decide, reasons="Crime exemption", disclosed="Admission date", sent_how="Email")
    ok(qtbot, decide)
    qtbot.waitUntil(lambda: "Disclosed in part" in page.detail.toPlainText())
    assert not find_button(page, "Decide…").isEnabled()  # a decided request is closed

    press(qtbot, page, "Print the register…")
    preview = shown_preview(qtbot, window)
    assert "Disclosed: Admission date" in text_of(preview.document)
    preview.close()
    printed = audit.entries(home.ctx.conn, last=1)[0]
    assert printed.details["document"] == "disclosure_register"
