"""Forms whose errors appear beside the field that caused them, and small shared widgets."""

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QSize, QTime, QTimeZone, Signal  # not Qt: 10 ms
from PySide6.QtGui import QAction, QFont, QShowEvent
from PySide6.QtWidgets import (
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from carehome_share.domain.errors import CarehomeError, PermissionDenied, ValidationError
from carehome_share.domain.validation import FIRST_YEAR, LAST_YEAR, UK, repeated_uk_time

ERROR_STYLE = (
    "color: palette(bright-text); background: #b00020; padding: 2px 6px; border-radius: 3px;"
)
WARNING_STYLE = "color: black; background: #fff1c9; padding: 2px 6px; border-radius: 3px;"


def heading(text: str, scale: float = 1.4) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def error_label() -> QLabel:
    label = QLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    label.hide()
    return label


def password_field() -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


FIRST_DAY, LAST_DAY = QDate(FIRST_YEAR, 1, 1), QDate(LAST_YEAR, 12, 31)  # as the services take
# Every end date is the last day something holds, to midnight at its end.
LAST_DAY_HINT = "The last day it holds: through the end of that day (UK time)"
_TYPED_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d+)")


class DateEdit(QWidget):
    """A date typed as dd/mm/yyyy (or d/m/yyyy) or picked from a calendar. Typed text is read
    only when the form is submitted, so a half-typed date is never rewritten under the fingers
    (as QDateEdit does). An optional one may be left empty: it then shows its `blank` text."""

    changed = Signal()

    def __init__(self, initial: date | None, blank: str | None, opens_at: date) -> None:
        super().__init__()
        from PySide6.QtCore import Qt  # here, not at import: the login window needs no dates

        self.blank, self.opens_at = blank, opens_at
        self.line = QLineEdit()
        self.line.setPlaceholderText(f"{blank} (dd/mm/yyyy)" if blank else "dd/mm/yyyy")
        # wide enough for that, where a row of filters would squeeze it
        self.line.setMinimumWidth(
            self.line.fontMetrics().horizontalAdvance(self.line.placeholderText()) + 24
        )
        self.line.setClearButtonEnabled(blank is not None)  # emptying it is a choice too
        self.line.textChanged.connect(self.changed)
        self.calendar = QCalendarWidget()
        self.calendar.setDateRange(FIRST_DAY, LAST_DAY)
        self.calendar.setFirstDayOfWeek(Qt.DayOfWeek.Monday)
        self.calendar.clicked.connect(self._picked)
        self.calendar.activated.connect(self._picked)
        holder = QWidgetAction(self)
        holder.setDefaultWidget(self.calendar)
        self.menu = QMenu(self)
        self.menu.addAction(holder)
        self.menu.aboutToShow.connect(self._show_month)
        self.pick = QToolButton()
        self.pick.setText("▾")
        self.pick.setStyleSheet("QToolButton::menu-indicator { image: none; }")  # one arrow
        self.pick.setAccessibleName("Pick from a calendar")
        self.pick.setToolTip("Pick from a calendar (Alt+Down)")
        self.pick.setMenu(self.menu)
        self.pick.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.pick.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Alt+Down opens it from the field
        open_calendar = QAction(self.line, shortcut="Alt+Down", triggered=self.pick.showMenu)
        open_calendar.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.line.addAction(open_calendar)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        row.addWidget(self.line, 1)
        row.addWidget(self.pick)
        self.setFocusProxy(self.line)
        self.setDate(initial)

    def setDate(self, day: date | QDate | None) -> None:
        if isinstance(day, QDate):
            day = day.toPython()
        self.line.setText("" if day is None else f"{day:%d/%m/%Y}")

    def date(self, field: str = "") -> date | None:
        """The date typed or picked; None when an optional one is empty. A ValidationError for
        `field`, naming the field as its label does, when the text is not a date the app takes."""
        text = self.line.text().strip()
        name = self.accessibleName() or "This date"
        if not text:
            if self.blank is not None:
                return None
            raise ValidationError(field, f"{name}: a date is needed, as dd/mm/yyyy")
        match = _TYPED_DATE.fullmatch(text)
        if match is None:
            raise ValidationError(field, f"{name}: type the date as dd/mm/yyyy, not {text!r}")
        day, month, year = (int(n) for n in match.groups())
        if len(match[3]) != 4:
            raise ValidationError(field, f"{name}: type the year in full ({text!r})")
        try:
            typed = date(year, month, day)
        except ValueError:
            raise ValidationError(field, f"{name}: {text} is not a day on the calendar") from None
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValidationError(
                field, f"{name}: {text} is not between {FIRST_YEAR} and {LAST_YEAR}"
            )
        return typed

    def _show_month(self) -> None:
        """The calendar opens at the date typed, or else where one is likely to be."""
        try:
            shown = self.date() or self.opens_at
        except ValidationError:
            shown = self.opens_at
        self.calendar.setSelectedDate(QDate(shown))
        self.calendar.setFocus()

    def _picked(self, day: QDate) -> None:
        self.setDate(day)
        self.menu.hide()
        self.line.setFocus()


def date_edit(
    initial: date | None = None, blank: str | None = None, opens_at: date | None = None
) -> DateEdit:
    """A date field in UK format, from 1900 to 2100. Without `blank`, it starts at `initial` or
    today. With `blank`, the date may be left out ("not set", "no end date") and starts empty
    unless `initial` is given. The calendar opens at the date typed, else at `opens_at` or
    today."""
    today = date.today()
    return DateEdit(initial if blank is not None else initial or today, blank, opens_at or today)


class ClockTimeEdit(QWidget):
    """A date and time as a UK clock shows it. The services refuse a time the clocks skip; for
    one they pass twice (the night they go back) a choice of which appears beside it."""

    changed = Signal()

    CHOICES = (
        ("which one?", ""),
        ("the first (BST, +01:00)", "+01:00"),
        ("the second (GMT, +00:00)", "+00:00"),
    )

    def __init__(self, moment: datetime) -> None:
        super().__init__()
        local = moment.astimezone(UK)
        # Qt reads the time in UTC, where every reading exists: the app, not the PC's time
        # zone setting, decides which UK times do.
        utc = QTimeZone(QTimeZone.Initialization.UTC)
        self.edit = QDateTimeEdit()
        self.edit.setTimeZone(utc)
        self.edit.setDateRange(FIRST_DAY, LAST_DAY)
        self.edit.setDateTime(QDateTime(QDate(local.date()), QTime(local.hour, local.minute), utc))
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("dd/MM/yyyy HH:mm")
        self.which = QComboBox()
        self.which.setAccessibleName("Which of the two times")
        for text, offset in self.CHOICES:
            self.which.addItem(text, offset)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.which)
        self.setFocusProxy(self.edit)
        self.edit.dateTimeChanged.connect(self._offer_choice)
        self.edit.dateTimeChanged.connect(self.changed)
        self.which.currentIndexChanged.connect(self.changed)
        self._offer_choice()

    def wall_time(self) -> datetime:
        day, clock = self.edit.date(), self.edit.time()
        return datetime(day.year(), day.month(), day.day(), clock.hour(), clock.minute())

    def set_wall_time(self, wall: datetime) -> None:
        self.edit.setDate(QDate(wall.date()))
        self.edit.setTime(QTime(wall.hour, wall.minute))

    def _offer_choice(self) -> None:
        self.which.setVisible(repeated_uk_time(self.wall_time()))

    def value(self) -> str:
        """As the services take it: YYYY-MM-DDTHH:MM, and the offset for a time that happens
        twice."""
        offset = "" if self.which.isHidden() else self.which.currentData()
        return f"{self.wall_time():%Y-%m-%dT%H:%M}{offset}"


def sentence(text: str) -> str:
    """A service's message ("must not be empty") as a sentence ("Must not be empty")."""
    return text[0].upper() + text[1:]


def text_box(height: int = 70) -> QPlainTextEdit:
    """A few lines of text; Tab moves on rather than typing a tab."""
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    box.setMaximumHeight(height)
    return box


def edited(widget: QWidget) -> Any:
    """The signal a field gives when the person changes it; our composite fields (dates, clock
    times, check lists) each give `changed`."""
    if isinstance(widget, QLineEdit):
        return widget.textEdited
    if isinstance(widget, QPlainTextEdit):
        return widget.textChanged
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QSpinBox):
        return widget.valueChanged
    return widget.changed  # type: ignore[attr-defined]


class Checks(QWidget):
    """Several boxes to tick in one row; the value is the data of those ticked, in order."""

    changed = Signal()

    def __init__(self, choices: list[tuple[str, str, Any]]) -> None:
        """`choices`: (label, accessible name, data) of each box."""
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.boxes: list[tuple[QCheckBox, Any]] = []
        for label, name, data in choices:
            box = QCheckBox(label)
            box.setAccessibleName(name)
            row.addWidget(box)
            box.toggled.connect(self.changed)
            self.boxes.append((box, data))
        row.addStretch()
        self.setFocusProxy(self.boxes[0][0])

    def value(self) -> list[Any]:
        return [data for box, data in self.boxes if box.isChecked()]


class Form(QWidget):
    """Labelled fields keyed by the services' field names; each has its error line below it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.hints: dict[str, QLabel] = {}

    def add(self, name: str, label: str, widget: QWidget, hint: str = "") -> QWidget:
        box = QWidget()
        box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        if hint:
            note = QLabel(hint)
            note.setWordWrap(True)
            note.setStyleSheet("color: palette(placeholder-text);")
            column.addWidget(note)
            self.hints[name] = note
        error = error_label()
        column.addWidget(error)
        row_label = QLabel(label)
        row_label.setBuddy(widget)
        self.layout_.addRow(row_label, box)
        widget.setAccessibleName(label.replace("&", "").rstrip(":"))
        edited(widget).connect(error.hide)  # the message was about what is being changed now
        self.fields[name] = widget
        self.errors[name] = error
        return widget

    def first_input(self) -> QWidget | None:
        """The first field that can be typed in or changed, where a dialog's typing starts."""
        for widget in self.fields.values():
            read_only = isinstance(widget, QLineEdit | QPlainTextEdit) and widget.isReadOnly()
            if widget.isVisibleTo(self) and widget.isEnabled() and not read_only:
                return widget
        return None

    def value(self, name: str) -> Any:
        widget = self.fields[name]
        if isinstance(widget, QLineEdit):
            return widget.text()
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, DateEdit):
            return widget.date(name)
        if isinstance(widget, ClockTimeEdit | Checks):
            return widget.value()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        raise TypeError(f"no value for {type(widget).__name__}")

    def alias(self, name: str, shown_as: str) -> None:
        """A service field that this form shows with another's widget (two findings, one
        choice): its errors land there."""
        self.fields[name], self.errors[name] = self.fields[shown_as], self.errors[shown_as]

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()

    def show_error(self, error: ValidationError) -> bool:
        """Put the message beside its field; False when no field here has that name."""
        label = self.errors.get(error.field)
        if label is None:
            return False
        label.setText(sentence(error.expected))
        label.show()
        self.fields[error.field].setFocus()
        return True


class FormDialog(QDialog):
    """A small single-purpose dialog: a form, OK and Cancel. `submit` calls one service;
    its errors land beside their field, or in the banner when they belong to no field."""

    def __init__(
        self, title: str, ok_text: str, parent: QWidget | None = None, *, scroll_over: int = 0
    ) -> None:
        """With `scroll_over`, a form taller than that many pixels scrolls, so the dialog fits
        a small screen (1366x768) with its buttons in view."""
        super().__init__(parent)
        self.setWindowTitle(title)
        self.banner = error_label()
        self.form = Form()
        self.scroll = ScrollingForm(self.form, scroll_over) if scroll_over else None
        # Our own buttons: the standard OK/Cancel pair costs 10 ms of start-up on first use.
        self.buttons = QDialogButtonBox()
        self.ok_button = QPushButton(ok_text)
        self.ok_button.setDefault(True)
        self.buttons.addButton(self.ok_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QPushButton("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        # the dialog's least width, set on a child: a minimum on the dialog itself stops its
        # layout enforcing the form's, and a wide row (a long checkbox label) was cut off
        self.buttons.setMinimumWidth(420)
        self.body = QVBoxLayout(self)
        self.body.addWidget(self.banner)
        self.body.addWidget(self.scroll or self.form)
        self.body.addWidget(self.buttons)
        self.result_value: Any = None

    def submit(self) -> Any:  # overridden: call the service, return its result
        raise NotImplementedError

    def showEvent(self, event: QShowEvent) -> None:
        """Typing starts in the form, never on a button (where Space would submit it): in the
        field a dialog chose, or else its first one."""
        super().showEvent(event)
        if not self.form.isAncestorOf(self.focusWidget()) and (first := self.form.first_input()):
            first.setFocus()

    def _submit(self) -> None:
        self.form.clear_errors()
        self.banner.hide()
        try:
            self.result_value = self.submit()
        except ValidationError as exc:
            if not self.form.show_error(exc):
                self.show_banner(str(exc))
            self.fit()  # room for the message
            if self.scroll and exc.field in self.form.fields:
                self.scroll.ensureWidgetVisible(self.form.fields[exc.field].parentWidget())
            return
        except CarehomeError as exc:
            self.show_banner(str(exc))
            self.fit()
            return
        self.accept()

    def fit(self) -> None:
        """As big as the form needs (up to its scrolling height), smaller too when rows hide."""
        self.form.layout_.activate()
        if self.scroll:
            self.scroll.updateGeometry()
        self.layout().invalidate()
        self.layout().activate()
        self.resize(self.width(), self.sizeHint().height())

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()


class ScrollingForm(QScrollArea):
    """A form that scrolls once taller than `most` pixels; as wide as the form."""

    def __init__(self, form: Form, most: int) -> None:
        from PySide6.QtCore import Qt  # here, not at start-up (10 ms)

        super().__init__()
        self.most = most
        self.setWidget(form)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def sizeHint(self) -> QSize:
        form = self.widget().sizeHint()
        return QSize(form.width() + self._bar(), min(form.height(), self.most))

    def minimumSizeHint(self) -> QSize:
        """Never narrower than the form: it scrolls down, not across."""
        form = self.widget().minimumSizeHint()
        return QSize(form.width() + self._bar(), min(form.height(), self.most // 2))

    def _bar(self) -> int:
        return self.verticalScrollBar().sizeHint().width()


def report_error(parent: QWidget, exc: Exception, title: str = "Not done") -> None:
    """The one standard message for a service error outside a form."""
    if isinstance(exc, PermissionDenied):
        text = "Refused: " + "; ".join(exc.reasons) + ".\n\nThe refusal has been recorded."
    elif isinstance(exc, CarehomeError):
        text = str(exc)
    else:
        text = f"Something went wrong: {exc}"
    QMessageBox.warning(parent, title, text)


def attempt(parent: QWidget, action: Callable[[], Any]) -> Any:
    """Run a service call from a button; show its error the standard way. None on failure."""
    try:
        return action()
    except CarehomeError as exc:
        report_error(parent, exc)
        return None
