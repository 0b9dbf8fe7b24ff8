"""Forms whose errors appear beside the field that caused them, and small shared widgets."""

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import QDate, QDateTime, QSize, QTime, QTimeZone  # not Qt: 10 ms at start-up
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
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


def date_edit(initial: date | None = None, blank: str | None = None) -> QDateEdit:
    """A date picker in UK format, from 1900 to 2100. With `blank`, the date may be left out and
    shows that text ("not set", "no expiry") until one is picked."""
    edit = QDateEdit()
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd/MM/yyyy")
    edit.setDateRange(FIRST_DAY, LAST_DAY)
    if blank is not None:
        edit.setSpecialValueText(blank)
        edit.setDate(edit.minimumDate() if initial is None else QDate(initial))
    else:
        edit.setDate(QDate(initial or date.today()))
    return edit


class ClockTimeEdit(QWidget):
    """A date and time as a UK clock shows it. The services refuse a time the clocks skip; for
    one they pass twice (the night they go back) a choice of which appears beside it."""

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


class Checks(QWidget):
    """Several boxes to tick in one row; the value is the data of those ticked, in order."""

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
            self.boxes.append((box, data))
        row.addStretch()
        self.setFocusProxy(self.boxes[0][0])

    def value(self) -> list[Any]:
        return [data for box, data in self.boxes if box.isChecked()]


def date_value(edit: QDateEdit) -> date | None:
    if edit.specialValueText() and edit.date() == edit.minimumDate():
        return None
    return edit.date().toPython()  # type: ignore[no-any-return]


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
        self.fields[name] = widget
        self.errors[name] = error
        return widget

    def value(self, name: str) -> Any:
        widget = self.fields[name]
        if isinstance(widget, QLineEdit):
            return widget.text()
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QDateEdit):
            return date_value(widget)
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
        self.setMinimumWidth(440)
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
        self.body = QVBoxLayout(self)
        self.body.addWidget(self.banner)
        self.body.addWidget(self.scroll or self.form)
        self.body.addWidget(self.buttons)
        self.result_value: Any = None

    def submit(self) -> Any:  # overridden: call the service, return its result
        raise NotImplementedError

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
        bar = self.verticalScrollBar().sizeHint().width()
        return QSize(form.width() + bar, min(form.height(), self.most))


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
