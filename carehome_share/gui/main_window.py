"""The main window: who is logged in and under which role, always in view; the pages that role
uses; switch user and lock for a shared nurses'-station PC; the idle lock."""

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from carehome_share.domain.model import ResidentRecord, Role
from carehome_share.gui import manager
from carehome_share.gui.disclosures import DisclosuresPage
from carehome_share.gui.forms import attempt
from carehome_share.gui.models import SessionsModel
from carehome_share.gui.residents import ResidentsPage
from carehome_share.gui.sessions import OpenSessionDialog, SessionWindow
from carehome_share.gui.tasks import Background
from carehome_share.gui.widgets import Table, button, enable_with, row_of
from carehome_share.services import access, residents, settings
from carehome_share.services.context import Context
from carehome_share.services.exceptions import Attention
from carehome_share.store.repo import AccessSession

WARNING_SECONDS = 60


class IdleWatcher(QObject):
    """Locks after a quiet spell; warns a minute before. Any key or mouse use resets it."""

    warn = Signal(int)  # seconds left
    idle = Signal()
    _ACTIVITY = frozenset(
        {
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseMove,
            QEvent.Type.Wheel,
            QEvent.Type.TouchBegin,
        }
    )

    def __init__(
        self,
        idle_after: timedelta,
        warning: timedelta = timedelta(seconds=WARNING_SECONDS),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.idle_after, self.warning = idle_after, min(warning, idle_after / 2)
        self.last_activity = datetime.now(UTC)
        self.check = QTimer(self, interval=250)
        self.check.timeout.connect(self._check)
        self.check.start()
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self._ACTIVITY:
            self.last_activity = datetime.now(UTC)
        return False

    def _check(self) -> None:
        quiet = datetime.now(UTC) - self.last_activity
        if quiet >= self.idle_after:
            self.stop()
            self.idle.emit()
        elif quiet >= self.idle_after - self.warning:
            self.warn.emit(int((self.idle_after - quiet).total_seconds()) + 1)
        else:
            self.warn.emit(0)

    def stop(self) -> None:
        self.check.stop()
        QApplication.instance().removeEventFilter(self)


class MySessionsPage(QWidget):
    """The nurse's sessions today; one still open (the screen locked while it ran) can be
    resumed or closed here."""

    resume = Signal(object)  # the AccessSession to carry on with
    closed = Signal(str)  # what was done, for the status bar

    def __init__(self, ctx: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._names: dict[int, str] = {}
        self.model = SessionsModel(self._resident_name, self)
        self.table = Table(self.model, "My sessions today", stretch=SessionsModel.SECTIONS)
        resume = button("Res&ume session", lambda: self.resume.emit(self.table.chosen()))
        close = button("&Close session", self.close_session)
        for push in (resume, close):
            enable_with(self.table, push, lambda s: s.closed_at is None)
        layout = QVBoxLayout(self)
        note = QLabel(
            "Your GP record sessions today. A session still open (the screen locked while it "
            "ran) can be resumed or closed here; one left open past the time limit is "
            "auto-closed and flagged for the manager."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.table)
        layout.addLayout(row_of(resume, close))

    def open_sessions(self) -> list[AccessSession]:
        return [s for s in self.model.rows if s.closed_at is None]

    def close_session(self) -> None:
        session = self.table.chosen()
        if attempt(self, lambda: access.close_access_session(self.ctx, session.id)):
            self.reload()
            self.closed.emit(f"Session closed: {self._resident_name(session.resident_id)}")

    def _resident_name(self, resident_id: int) -> str:
        if resident_id not in self._names:
            details = attempt(self, lambda: residents.resident_details(self.ctx, resident_id))
            self._names[resident_id] = details.record.resident.full_name if details else "?"
        return self._names[resident_id]

    def reload(self) -> None:
        rows = attempt(self, lambda: access.my_sessions_today(self.ctx))
        if rows is not None:
            self.model.set_rows(rows)


class MainWindow(QMainWindow):
    switch_user = Signal()  # log out and show the login window
    lock = Signal()  # the same, when the screen was left

    def __init__(self, ctx: Context, background: Background, home_name: str) -> None:
        super().__init__()
        login = ctx.login
        assert login is not None
        self.ctx, self.background = ctx, background
        self.session_window: SessionWindow | None = None
        self.open_dialog: OpenSessionDialog | None = None
        who = f"{login.staff.full_name} ({login.role.label})"
        self.setWindowTitle(f"{home_name} · {who} · carehome-share")
        self.resize(1200, 760)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.residents = ResidentsPage(ctx, background)
        self.residents.panel.open_session.connect(self.open_session)
        self.residents.done.connect(self.say)
        self.tabs.addTab(self.residents, "&Residents")
        self.my_sessions: MySessionsPage | None = None
        if login.role is Role.NURSE:
            self.my_sessions = MySessionsPage(ctx)
            self.my_sessions.resume.connect(self.resume_session)
            self.my_sessions.closed.connect(self.say)
            self.tabs.addTab(self.my_sessions, "My sessions &today")
        self.disclosures = DisclosuresPage(ctx, background)
        self.attention_index = -1
        self.pages: dict[type, QWidget] = {}  # the manager's pages, by kind
        self.first_steps: manager.FirstSteps | None = None
        if login.role is Role.MANAGER:
            self.first_steps = manager.add_resident_actions(self.residents, ctx)
            self.first_steps.go.connect(lambda kind: self.tabs.setCurrentWidget(self.pages[kind]))
            for title, page in manager.manager_pages(ctx, background, self):
                index = self.tabs.addTab(page, title)
                self.pages[type(page)] = page
                if hasattr(page, "said"):
                    page.said.connect(self.say)
                if isinstance(page, manager.AttentionPage):
                    self.attention_index = index
                    page.counted.connect(self._show_attention_count)
                    page.chosen.connect(self.open_attention)
        self.tabs.addTab(self.disclosures, "&Disclosures")
        self.tabs.currentChanged.connect(self._tab_shown)

        self.idle_banner = QLabel()
        self.idle_banner.setStyleSheet(
            "background: #ffb81c; color: black; padding: 6px; font-weight: bold;"
        )
        self.idle_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.idle_banner.hide()
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.idle_banner)
        column.addWidget(self.tabs)
        self.setCentralWidget(central)

        toolbar = QToolBar("Session")
        toolbar.setObjectName("session-toolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(QLabel(f"  {home_name}  ·  "))
        self.attention_action = QAction("Needs attention", self)
        self.attention_action.triggered.connect(
            lambda: self.tabs.setCurrentIndex(self.attention_index)
        )
        if self.attention_index >= 0:
            toolbar.addAction(self.attention_action)
        switch = QAction("&Switch user", self)
        switch.setShortcut(QKeySequence("Ctrl+Shift+U"))
        switch.triggered.connect(self.switch_user)
        lock = QAction("&Lock now", self)
        lock.setShortcut(QKeySequence("Ctrl+L"))
        lock.triggered.connect(self.lock)
        toolbar.addAction(switch)
        toolbar.addAction(lock)
        self.addToolBar(toolbar)

        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(120)
        self.busy.setAccessibleName("Working")
        self.busy.hide()
        background.busy_changed.connect(self.busy.setVisible)
        self.who = QLabel(f"Logged in: {who} · workstation {ctx.workstation}")
        self.who.setAccessibleName("Logged in user")
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().addPermanentWidget(self.who)

        idle_minutes = attempt(self, lambda: settings.all_settings(ctx)["idle_lock_minutes"]) or 5
        self.idle = IdleWatcher(timedelta(minutes=idle_minutes), parent=self)
        self.idle.warn.connect(self._warn_idle)
        self.idle.idle.connect(self.lock)

        self.residents.reload()
        self.residents.search.setFocus()  # typing a name starts at once
        attempt(self, lambda: access.close_stale_sessions(ctx))
        self._tab_shown(self.tabs.currentIndex())
        if self.my_sessions is not None:
            self.my_sessions.reload()
            if self.my_sessions.open_sessions():
                self.tabs.setCurrentWidget(self.my_sessions)
                self.my_sessions.table.select_where(lambda s: s.closed_at is None)
                self.say("A GP record session of yours is still open: resume it or close it.")

    def say(self, text: str) -> None:
        """Confirmation of what was just done, in the status bar."""
        self.statusBar().showMessage(text, 10_000)

    def open_attention(self, item: Attention) -> None:
        """A Needs attention row opened: the resident, member of staff or practice it is about,
        chosen on their page."""
        if item.resident_id is not None:
            self.tabs.setCurrentWidget(self.residents)  # the panel shows what to do
            self.residents.show_resident(item.resident_id)
        elif item.staff_id is not None:
            staff = self.pages[manager.StaffPage]
            self.tabs.setCurrentWidget(staff)  # reloaded as it is shown
            staff.table.select_where(lambda s: s.id == item.staff_id)
            staff.table.setFocus()
        elif item.practice_id is not None:
            gp = self.pages[manager.PracticesPage]
            self.tabs.setCurrentWidget(gp)
            gp.practices.select_where(lambda p: p.id == item.practice_id)
            gp.practices.setFocus()

    def _tab_shown(self, index: int) -> None:
        page = self.tabs.widget(index)
        if hasattr(page, "reload") and page is not self.residents:
            page.reload()
        elif page is self.residents and self.first_steps is not None:
            self.first_steps.refresh()  # done on another page, perhaps

    def _show_attention_count(self, count: int) -> None:
        label = f"Needs attention ({count})" if count else "Needs attention"
        self.attention_action.setText(label)
        self.tabs.setTabText(self.attention_index, f"Needs &attention ({count})")

    def _warn_idle(self, seconds: int) -> None:
        self.idle_banner.setVisible(seconds > 0)
        text = f"No activity: the screen locks in {seconds} seconds. Move the mouse or press a key to stay logged in."
        if self.session_window is not None:
            text += (
                "\nYour GP record session stays open: after logging in again, resume or close it "
                "under My sessions today (at its time limit it is auto-closed and flagged)."
            )
        self.idle_banner.setText(text)

    def open_session(self) -> None:
        details = self.residents.panel.details
        if details is None:
            return
        if self.session_window is not None:
            self.session_window.raise_()
            return
        self.open_dialog = OpenSessionDialog(self.ctx, details.record, self)
        self.open_dialog.finished.connect(lambda _result: self._session_opened(details.record))
        self.open_dialog.open()

    def _session_opened(self, record: ResidentRecord) -> None:
        asked, self.open_dialog = self.open_dialog, None
        if asked is not None and asked.session is not None:
            self._show_session(asked.session, record)
            return
        call = asked.call_dialog if asked is not None else None
        if call is not None and call.result() == QDialog.DialogCode.Accepted:
            self.say(f"Call to the GP practice logged: {record.resident.full_name}.")
        if self.my_sessions is not None:
            self.my_sessions.reload()  # a refusal or a logged call

    def resume_session(self, session: AccessSession) -> None:
        if self.session_window is not None:
            self.session_window.raise_()
            return
        details = attempt(self, lambda: residents.resident_details(self.ctx, session.resident_id))
        if details is not None:
            self._show_session(session, details.record)

    def _show_session(self, session: AccessSession, record: ResidentRecord) -> None:
        self.session_window = SessionWindow(self.ctx, session, record, self)
        self.session_window.closed.connect(self._session_closed)
        self.session_window.show()

    def _session_closed(self) -> None:
        if self.session_window is not None and not self.session_window.over:
            self.say("GP record session closed.")
        self.session_window = None
        if self.my_sessions is not None:
            self.my_sessions.reload()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the app with a GP record session open: ask, and close it if told to."""
        running = self.session_window
        ending = QApplication.instance().property("ending")  # a shutdown: never held up
        if running is not None and not running.over and not ending:
            answer = QMessageBox.question(
                self,
                "GP record session open",
                "Your GP record session is still open. Close it and quit?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            running.close_session()
        super().closeEvent(event)

    def shut(self) -> None:
        """Leave without closing anyone's record session behind their back: an open one is
        auto-closed and flagged, which is the evidence that it was left open."""
        self.idle.stop()
        if self.session_window is not None:
            self.session_window.ticker.stop()
            self.session_window.hide()
        self.background.wait()
        self.hide()
        self.deleteLater()
