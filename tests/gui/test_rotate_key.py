"""Rotating the database key from the Settings page: a new recovery code, shown once with the
wizard's print and copy; the old code stops opening the file; the pages keep working."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from carehome_share.gui.rotate_key import NewRecoveryCodeDialog
from carehome_share.store import audit, recovery
from carehome_share.store.vault import Vault, WrongKey
from tests.gui.test_manager import dialog_of, press, show_tab
from tests.gui.test_startup import type_back


@pytest.fixture
def created(db_path: Path) -> Iterator[tuple[Vault, str]]:
    vault, code = Vault.create(db_path)
    yield vault, code
    vault.close()


@pytest.fixture
def vault(created: tuple[Vault, str]) -> Vault:
    """The test's database (as in tests/conftest.py), whose first recovery code is known."""
    return created[0]


def test_rotating_the_key_shows_a_new_code_and_the_old_one_stops_opening_the_file(
    qtbot, created, open_window, print_dialog, monkeypatch, db_path: Path
) -> None:
    _vault, old_code = created
    window = open_window()
    page = show_tab(window, "S&ettings")
    asked = []
    monkeypatch.setattr(
        QMessageBox,
        "question",
        lambda _parent, title, text: asked.append(text) or QMessageBox.StandardButton.Yes,
    )
    press(qtbot, page, "Rotate database key…")
    assert "Everyone keeps their password" in asked[0]
    dialog = dialog_of(qtbot, NewRecoveryCodeDialog)
    new_code = dialog.view.recovery_code
    assert new_code != old_code and recovery.decode(new_code)
    assert dialog.view.code.text().replace(" ", "") == new_code

    press(qtbot, dialog, "Print recovery sheet…")
    ((text, _pages, _file),) = print_dialog
    assert all(group in text for group in new_code.split("-"))

    dialog.reject()  # Escape: the code is not confirmed kept yet
    assert dialog.isVisible() and not dialog.close_button.isEnabled()
    type_back(qtbot, dialog.view)
    dialog.close_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible())

    with pytest.raises(WrongKey):
        Vault.open_with_recovery_code(db_path, old_code)
    Vault.open_with_recovery_code(db_path, new_code).close()
    assert "rotate_key" in {e.action for e in audit.entries(window.ctx.conn)}

    audit_page = show_tab(window, "A&udit")  # the background connection, on the new key
    qtbot.waitUntil(lambda: audit_page.model.rowCount() > 0 and not window.busy.isVisible())
