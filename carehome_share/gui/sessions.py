"""The nurse's path: ask to open a GP record, see every reason if refused, phone the GP instead,
tick what was viewed while the session runs, close it."""

from datetime import timedelta

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from carehome_share.domain.errors import AccessRefused, CarehomeError, ValidationError
from carehome_share.domain.model import CloseKind, Purpose, ResidentRecord, Section
from carehome_share.domain.rules import MIN_JUSTIFICATION
from carehome_share.domain.validation import uk_date
from carehome_share.gui.forms import (
    ERROR_STYLE,
    WARNING_STYLE,
    FormDialog,
    attempt,
    error_label,
    heading,
    report_error,
    sentence,
    text_box,
)
from carehome_share.gui.models import uk_time
from carehome_share.gui.widgets import button, row_of
from carehome_share.services import access, settings
from carehome_share.services.context import Context
from carehome_share.store.repo import AccessSession


def purposes_for(record: ResidentRecord, ctx: Context) -> list[Purpose]:
    """The purposes of the agreements in force today, or every purpose when none is (the
    refusal then explains why)."""
    today = uk_date(ctx.now())
    offered = {p for a in record.agreements if a.in_force_on(today) for p in a.purposes}
    return [p for p in Purpose if p in offered] or list(Purpose)


class OpenSessionDialog(QDialog):
    """Purpose and justification; on refusal the same dialog lists every reason and offers the
    phone call to the GP practice instead."""

    def __init__(self, ctx: Context, record: ResidentRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.record = ctx, record
        self.session: AccessSession | None = None
        self.refusal: AccessRefused | None = None
        self.call_dialog: GpCallDialog | None = None
        resident = record.resident
        self.setWindowTitle(f"Open GP record: {resident.full_name}")
        self.setMinimumWidth(520)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._ask_page())
        self.pages.addWidget(self._refused_page())
        layout = QVBoxLayout(self)
        layout.addWidget(heading(f"GP record of {resident.full_name}"))
        layout.addWidget(self.pages)

    def _ask_page(self) -> QWidget:
        page = QWidget()
        self.purpose = QComboBox()
        self.purpose.setAccessibleName("Purpose")
        for purpose in purposes_for(self.record, self.ctx):
            self.purpose.addItem(purpose.label, purpose)
        self.justification = QPlainTextEdit()
        self.justification.setAccessibleName("Justification")
        self.justification.setPlaceholderText(
            "Why you need the record now, e.g. checking the current warfarin dose before the lunchtime round"
        )
        self.justification.setTabChangesFocus(True)
        self.justification.setMaximumHeight(90)
        self.justification.installEventFilter(self)
        self.error = error_label()
        purpose_label = QLabel("&Purpose:")
        purpose_label.setBuddy(self.purpose)
        why_label = QLabel(
            f"&Justification (at least {MIN_JUSTIFICATION} characters, not counting spaces):"
        )
        why_label.setBuddy(self.justification)
        self.open_button = button("&Open record", self._open)
        self.open_button.setDefault(True)
        layout = QVBoxLayout(page)
        for widget in (purpose_label, self.purpose, why_label, self.justification, self.error):
            layout.addWidget(widget)
        layout.addLayout(row_of(button("Cancel", self.reject), self.open_button, right=True))
        return page

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.justification.setFocus()  # typing starts at once; the purpose is usually right

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Return in the justification opens the record (Shift+Return starts a new line)."""
        if (
            watched is self.justification
            and isinstance(event, QKeyEvent)
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self._open()
            return True
        return super().eventFilter(watched, event)

    def _refused_page(self) -> QWidget:
        page = QWidget()
        title = heading("Access not allowed", 1.2)
        title.setStyleSheet("color: #b00020;")
        self.reasons = QLabel()
        self.reasons.setWordWrap(True)
        self.reasons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reasons.setAccessibleName("Reasons access was refused")
        practice = self.record.practice
        phone = f" on {practice.phone}" if practice and practice.phone else ""
        advice = QLabel(
            f"The refusal has been recorded. Phone {practice.name if practice else 'the GP practice'}{phone} "
            "instead, and log the call."
        )
        advice.setWordWrap(True)
        self.call_button = button("&Log a call to the GP practice", self._log_call)
        layout = QVBoxLayout(page)
        for widget in (title, self.reasons, advice):
            layout.addWidget(widget)
        layout.addLayout(row_of(button("&Close", self.reject), self.call_button, right=True))
        return page

    def _open(self) -> None:
        self.error.hide()
        try:
            self.session = access.open_access_session(
                self.ctx,
                self.record.resident.id,
                self.purpose.currentData(),
                self.justification.toPlainText(),
            )
        except AccessRefused as refused:
            self.refusal = refused
            self.reasons.setText("\n".join(f"• {sentence(r)}" for r in refused.reasons))
            self.pages.setCurrentIndex(1)
            self.call_button.setFocus()
            return
        except ValidationError as exc:
            # an input mistake: the text stays, nothing was recorded
            self.error.setText(f"{sentence(exc.expected)}. Nothing has been recorded yet.")
            self.error.show()
            self.justification.setFocus()
            return
        except CarehomeError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()

    def _log_call(self) -> None:
        refusal_id = self.refusal.refusal_id if self.refusal else None
        self.call_dialog = GpCallDialog(self.ctx, self.record, refusal_id, self)
        self.call_dialog.accepted.connect(self.reject)  # call logged: nothing more to do here
        self.call_dialog.open()


class GpCallDialog(FormDialog):
    """The fallback: a phone call to the GP practice, logged as its own event."""

    def __init__(
        self,
        ctx: Context,
        record: ResidentRecord,
        refusal_id: int | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            f"Call to the GP practice about {record.resident.full_name}", "&Save call", parent
        )
        self.ctx, self.record, self.refusal_id = ctx, record, refusal_id
        practice = record.practice
        if practice:
            self.body.insertWidget(
                0, QLabel(f"{practice.name} ({practice.ods_code}) {practice.phone}")
            )
        self.form.add(
            "spoke_to", "&Spoke to:", QLineEdit(), "Name and role, e.g. Dr Patel, duty GP"
        )
        self.form.add("reason", "&Reason for the call:", text_box())
        self.form.add("outcome", "&Outcome:", text_box(), "What the practice said or will do")

    def submit(self) -> int:
        return access.log_gp_contact(
            self.ctx,
            self.record.resident.id,
            self.form.value("spoke_to"),
            self.form.value("reason"),
            self.form.value("outcome"),
            self.refusal_id,
        )


class SessionWindow(QDialog):
    """An open session: a running timer, the parts of the record to tick as viewed (only those
    the agreement covers), and Close. Each tick is recorded at once. Every few seconds it asks
    whether the session still stands: the time limit, or a change to the rules made anywhere
    (a withdrawal, a discharge...), ends it, and the nurse is told why."""

    closed = Signal()
    CHECK_EVERY = 10  # seconds between asking the services

    def __init__(
        self,
        ctx: Context,
        session: AccessSession,
        record: ResidentRecord,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.session = ctx, session
        self.setWindowTitle(f"GP record session: {record.resident.full_name}")
        self.setModal(False)
        self.limit = timedelta(
            minutes=attempt(self, lambda: settings.all_settings(ctx)["session_limit_minutes"]) or 30
        )
        agreement = next((a for a in record.agreements if a.id == session.agreement_id), None)
        allowed = agreement.sections if agreement else ()
        layout = QVBoxLayout(self)
        layout.addWidget(heading(record.resident.full_name))
        layout.addWidget(
            QLabel(f"Purpose: {session.purpose.label}\nJustification: {session.justification}")
        )
        if session.alerts:
            alerts = QLabel(
                "\n".join(f"• {sentence(a)}: tell the registered manager." for a in session.alerts)
            )
            alerts.setAccessibleName("Alerts")
            alerts.setWordWrap(True)
            alerts.setStyleSheet(WARNING_STYLE)
            layout.addWidget(alerts)
        self.timer_label = QLabel()
        self.timer_label.setAccessibleName("Session time")
        self.timer_label.setWordWrap(True)
        layout.addWidget(self.timer_label)
        layout.addWidget(
            QLabel(
                "Open the record in the practice's viewer now, and tick each part as you look at it:"
            )
        )
        self.boxes: dict[Section, QCheckBox] = {}
        for section in allowed:
            box = QCheckBox(section.label)
            box.toggled.connect(
                lambda on, s=section: self._viewed(s) if on else self._keep_ticked(s)
            )
            self.boxes[section] = box
            layout.addWidget(box)
        self.close_button = QPushButton("&Close session")
        self.close_button.setMinimumHeight(40)
        self.close_button.clicked.connect(self.close_session)
        layout.addWidget(self.close_button)
        self.over = False  # closed by the app: the time limit or a change to the rules
        self.ticks = 0
        self.ticker = QTimer(self)
        self.ticker.timeout.connect(self._tick)
        self.ticker.start(1000)
        self._tick()

    def _tick(self) -> None:
        open_for = self.ctx.now() - self.session.opened_at
        left = self.limit - open_for
        self.ticks += 1
        if (left <= timedelta(0) or self.ticks % self.CHECK_EVERY == 0) and self.check():
            return
        minutes, seconds = divmod(int(open_for.total_seconds()), 60)
        self.timer_label.setText(
            f"Open for {minutes:02d}:{seconds:02d}; auto-closes in {int(max(left, timedelta(0)).total_seconds() // 60) + 1} min"
        )

    def check(self) -> bool:
        """Ask whether the session still stands; if it has ended, say why and stop. True when
        it has ended."""
        try:
            self.session = access.check_session(self.ctx, self.session.id)
        except CarehomeError as exc:  # the nurse may act no more (deactivated, say)
            return self._over(f"This session can no longer be used: {exc}.")
        if self.session.closed_at is None:
            return False
        if self.session.close_kind is CloseKind.AUTO_CLOSED:
            return self._over(
                "Time limit reached: the session was auto-closed and flagged for the manager. "
                "Open a new session if you still need the record."
            )
        return self._over(
            f"Your session {access.how_it_closed(self.session)}. Close the GP record now; "
            "phone the GP practice if you still need to know something."
        )

    def _over(self, text: str) -> bool:
        self.ticker.stop()
        self.over = True
        self.timer_label.setText(text)
        self.timer_label.setStyleSheet(ERROR_STYLE)
        for box in self.boxes.values():
            box.setEnabled(False)
        self.close_button.setText("&Close window")
        return True

    def _viewed(self, section: Section) -> None:
        try:
            self.session = access.record_sections_viewed(self.ctx, self.session.id, [section])
        except CarehomeError as exc:
            self.boxes[section].setChecked(False)
            if not self.check():  # a session that ended says so in the window
                report_error(self, exc)
            return
        self.boxes[section].setText(
            f"{section.label}: viewed, recorded {uk_time(self.ctx.now(), with_date=False)}"
        )

    def _keep_ticked(self, section: Section) -> None:
        """What was viewed stays recorded: a recorded box cannot be un-ticked. (Not disabled
        instead: a greyed-out box reads as "not allowed".)"""
        if section in self.session.sections:
            self.boxes[section].setChecked(True)

    def close_session(self) -> None:
        self.ticker.stop()
        if not self.over:
            try:
                self.session = access.close_access_session(self.ctx, self.session.id)
            except CarehomeError as exc:
                report_error(self, exc)
        self.closed.emit()
        self.accept()

    def reject(self) -> None:
        """Escape or the window's close button closes the session rather than leaving it open."""
        self.close_session()
