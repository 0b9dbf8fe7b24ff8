"""Screenshots of the registered manager's windows, on a demo database under a real X server:

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1400x900x24" \
        python docs/screenshots/take_manager_screenshots.py

Saves docs/screenshots/manager-*.png. The data are synthetic (carehome_share.demo).
"""

import shutil
from datetime import date

from shots import save, settle  # beside this script

from carehome_share import demo
from carehome_share.domain.model import DecidedBy, Role
from carehome_share.gui import manager
from carehome_share.gui.app import application
from carehome_share.gui.desktop import make_demo_database
from carehome_share.gui.main_window import MainWindow
from carehome_share.gui.tasks import Background
from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import repo


def main() -> None:
    application()
    vault, folder = make_demo_database()
    try:
        ctx = Context(vault)
        auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
        window = MainWindow(ctx, Background(ctx), repo.home_name(vault.conn) or "")
        window.resize(1366, 768)  # the smallest screen the home has
        window.show()
        settle(window)
        residents = window.residents
        residents.table.selectRow(0)
        save(window, "manager-residents", window)
        for i in range(1, window.tabs.count()):
            window.tabs.setCurrentIndex(i)
            page = window.tabs.widget(i)
            if isinstance(page, manager.StaffPage):
                page.table.selectRow(0)
            elif isinstance(page, manager.PracticesPage):
                page.practices.selectRow(0)
            elif isinstance(page, manager.AuditPage):
                settle(window)
                page.outcome.setCurrentIndex(page.outcome.findData("denied"))
                page.verify()
            name = window.tabs.tabText(i).replace("&", "").split(" (")[0]
            save(window, "manager-" + name.lower().replace(" ", "-"), window)

        window.tabs.setCurrentIndex(0)
        assert residents.panel.listing is not None and residents.panel.details is not None
        consent = manager.ConsentDialog(ctx, residents.panel.listing.resident, window)
        consent.decided_by.setCurrentIndex(consent.decided_by.findData(DecidedBy.LPA_ATTORNEY))
        consent.form.fields["representative_name"].setText("Alan Example")
        consent.form.fields["representative_relationship"].setText("son")
        consent.show()
        consent.ok_button.click()  # no capacity assessment yet: the error shows beside it
        save(consent, "manager-consent-dialog", window)
        consent.decided_by.setCurrentIndex(consent.decided_by.findData(DecidedBy.BEST_INTERESTS))
        save(consent, "manager-consent-best-interests", window)
        consent.close()

        withdraw = manager.WithdrawDialog(ctx, residents.panel.details.record, window)
        withdraw.show()
        save(withdraw, "manager-withdraw-dialog", window)
        withdraw.close()

        add_staff = manager.StaffDialog(ctx, None, window)
        for name, text in (
            ("username", "nurse.bea"),
            ("full_name", "Bea Okoro"),
            ("nmc_pin", "12A3456E"),
            ("password", "a temporary password"),
        ):
            add_staff.form.fields[name].setText(text)
        add_staff.roles.boxes[Role.NURSE].setChecked(True)
        add_staff.show()
        save(add_staff, "manager-add-staff-dialog", window)
        add_staff.close()

        practices = window.tabs.widget(2)
        assert isinstance(practices, manager.PracticesPage)
        agreement = manager.AgreementDialog(ctx, practices.practices.chosen(), window)
        agreement.form.fields["ends_on"].setDate(date(2027, 3, 31))
        agreement.show()
        save(agreement, "manager-agreement-dialog", window)
        agreement.close()

        add_resident = manager.ResidentDialog(ctx, None, window)
        add_resident.show()
        save(add_resident, "manager-add-resident-dialog", window)
        add_resident.close()

        window.shut()
        window.background.close()
    finally:
        vault.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
