"""Table models: rows from the services, named columns, a role for the row object and one for
sorting by the real value (dates as dates, not as text)."""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import CloseKind
from carehome_share.domain.validation import UK
from carehome_share.services.exceptions import NOW, OVERDUE, UPCOMING, Attention
from carehome_share.store.repo import AccessSession, ResidentListing

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row object itself
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a value that sorts properly

Index = QModelIndex | QPersistentModelIndex


def uk_time(moment: datetime | None, with_date: bool = True) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UK).strftime("%d/%m/%Y %H:%M" if with_date else "%H:%M")


def uk_day(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


class Column:
    def __init__(
        self, header: str, text: Callable[[Any], str], sort: Callable[[Any], Any] | None = None
    ) -> None:
        self.header, self.text, self.sort = header, text, sort or text


class RowsModel(QAbstractTableModel):
    """A read-only table of row objects; subclasses name their columns."""

    COLUMNS: ClassVar[list[Column]] = []

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []
        self.columns = self.make_columns()

    def make_columns(self) -> list[Column]:
        return self.COLUMNS

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's API
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's API
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, column = self.rows[index.row()], self.columns[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return column.text(row)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return column.sort(row)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.columns)
        ):
            return self.columns[section].header
        return None


def sorted_view_model(model: RowsModel) -> QSortFilterProxyModel:
    # No Qt parent: whoever shows it keeps it. A proxy parented to its model can be deleted twice
    # when the garbage collector frees both (a crash in PySide6 6.11).
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)  # a filter text matches any column
    return proxy


class ResidentsModel(RowsModel):
    NAME, ROOM, NHS, BORN, STATUS = range(5)
    COLUMNS: ClassVar[list[Column]] = [
        Column("Name", lambda r: f"{r.resident.family_name}, {r.resident.given_name}"),
        Column("Room", lambda r: r.resident.room),
        Column("NHS number", lambda r: format_nhs_number(r.resident.nhs_number)),
        Column(
            "Date of birth",
            lambda r: uk_day(r.resident.date_of_birth),
            lambda r: r.resident.date_of_birth.isoformat(),
        ),
        Column(
            "Status", lambda r: "Resident" if r.current else "Not resident", lambda r: not r.current
        ),
    ]

    def listing(self, row: int) -> ResidentListing:
        return self.rows[row]  # type: ignore[no-any-return]


class SessionsModel(RowsModel):
    OPENED, RESIDENT, PURPOSE, MINUTES, SECTIONS, CLOSED = range(6)

    def __init__(self, resident_names: Callable[[int], str], parent: Any = None) -> None:
        self.resident_name = resident_names
        super().__init__(parent)

    def make_columns(self) -> list[Column]:
        return [
            Column(
                "Opened",
                lambda s: uk_time(s.opened_at, with_date=False),
                lambda s: s.opened_at.isoformat(),
            ),
            Column("Resident", lambda s: self.resident_name(s.resident_id)),
            Column("Purpose", lambda s: s.purpose.label),
            Column("Minutes", _minutes, lambda s: (s.closed_at or s.opened_at) - s.opened_at),
            Column(
                "Sections viewed", lambda s: ", ".join(x.label for x in s.sections) or "none ticked"
            ),
            Column("Closed", _how_closed),
        ]


def _minutes(session: AccessSession) -> str:
    if session.closed_at is None:
        return "open"
    return f"{(session.closed_at - session.opened_at).total_seconds() / 60:.0f}"


def _how_closed(session: AccessSession) -> str:
    if session.closed_at is None:
        return "still open"
    at = uk_time(session.closed_at, with_date=False)
    if session.close_kind is CloseKind.AUTO_CLOSED:
        return f"auto-closed (left open) {at}"
    if session.close_kind is CloseKind.ENDED:
        return f"ended {at}: {session.close_reason}"
    return f"closed {at}"


class AuditModel(RowsModel):
    SEQ, WHEN, WHO, ROLE, ACTION, RESIDENT, OUTCOME, REASONS = range(8)

    def __init__(self, resident_names: Callable[[int], str], parent: Any = None) -> None:
        self.resident_name = resident_names
        super().__init__(parent)

    def make_columns(self) -> list[Column]:
        return [
            Column("#", lambda e: str(e.seq), lambda e: e.seq),
            Column("When", lambda e: uk_time(datetime.fromisoformat(e.at)), lambda e: e.at),
            Column("Who", lambda e: f"{e.actor_name} ({e.actor_username})"),
            Column("Role", lambda e: e.actor_role),
            Column("Action", lambda e: e.action.replace("_", " ")),
            Column(
                "Resident", lambda e: self.resident_name(e.resident_id) if e.resident_id else ""
            ),
            Column("Outcome", lambda e: e.outcome),
            Column("Reasons", lambda e: "; ".join(e.reasons)),
        ]


class AttentionModel(RowsModel):
    URGENCY, KIND, WHEN, TEXT = range(4)
    URGENCIES: ClassVar[dict[str, str]] = {
        OVERDUE: "Overdue",
        NOW: "Now",
        UPCOMING: "Upcoming",
    }
    LABELS: ClassVar[dict[str, str]] = {
        "lockout": "Locked account",
        "key_slot": "Database key",
        "refusal": "Refusal",
        "auto_closed": "Auto-closed session",
        "session_ended": "Session ended by a change",
        "decided_by_self": "Decided and looked",
        "long_session": "Long session",
        "consent_review": "Consent review due",
        "nmc": "NMC registration",
        "report_due": "GP access report due",
        "agreement": "Agreement",
        "disclosure": "Disclosure request",
    }
    COLUMNS: ClassVar[list[Column]] = [
        Column(
            "Urgency",
            lambda a: AttentionModel.URGENCIES[a.urgency],
            lambda a: list(AttentionModel.URGENCIES).index(a.urgency),
        ),
        Column("Kind", lambda a: AttentionModel.LABELS[a.kind]),
        Column(
            "When",
            lambda a: uk_time(a.when) if isinstance(a.when, datetime) else uk_day(a.when),
            lambda a: str(a.when),
        ),
        Column("What", lambda a: a.text),
    ]

    def item(self, row: int) -> Attention:
        return self.rows[row]  # type: ignore[no-any-return]


class StaffModel(RowsModel):
    """Staff accounts; `locked` holds the lockouts in force (staff id: until when)."""

    NAME, USERNAME, ROLES, PIN, CHECKED, EXPIRES, ACTIVE, LOGIN = range(8)

    def __init__(self, parent: Any = None) -> None:
        self.locked: dict[int, datetime] = {}
        super().__init__(parent)

    def set_rows(self, rows: Sequence[Any], locked: dict[int, datetime] | None = None) -> None:
        self.locked = locked or {}
        super().set_rows(rows)

    def make_columns(self) -> list[Column]:
        return [
            Column("Name", lambda s: s.full_name),
            Column("Username", lambda s: s.username),
            Column("Roles", lambda s: ", ".join(sorted(r.label for r in s.roles))),
            Column("NMC PIN", lambda s: s.nmc_pin or ""),
            Column(
                "NMC checked", lambda s: uk_day(s.nmc_checked_on), lambda s: str(s.nmc_checked_on)
            ),
            Column(
                "NMC valid until",
                lambda s: uk_day(s.nmc_expires_on),
                lambda s: str(s.nmc_expires_on),
            ),
            Column("Active", lambda s: "Yes" if s.active else "No (left)"),
            Column("Login", self._login),
        ]

    def _login(self, staff: Any) -> str:
        until = self.locked.get(staff.id)
        return f"locked until {uk_time(until, with_date=False)}" if until else ""


class PracticesModel(RowsModel):
    NAME, ODS, PHONE, STATUS = range(4)
    COLUMNS: ClassVar[list[Column]] = [
        Column("GP practice", lambda p: p.name),
        Column("ODS code", lambda p: p.ods_code),
        Column("Phone", lambda p: p.phone),
        Column("Status", lambda p: "Active" if p.active else "Inactive"),
    ]


class AgreementsModel(RowsModel):
    STATUS, STARTS, ENDS, REVIEW, PURPOSES, SECTIONS, SIGNED = range(7)

    def __init__(self, today: Callable[[], date], parent: Any = None) -> None:
        self.today = today
        super().__init__(parent)

    def make_columns(self) -> list[Column]:
        return [
            Column("Status", self._status),
            Column("Starts", lambda a: uk_day(a.starts_on), lambda a: str(a.starts_on)),
            Column(
                "Last day", lambda a: uk_day(a.ends_on) or "open-ended", lambda a: str(a.ends_on)
            ),
            Column("Review", lambda a: uk_day(a.review_on), lambda a: str(a.review_on)),
            Column("Purposes", lambda a: ", ".join(p.label for p in a.purposes)),
            Column("Sections", lambda a: ", ".join(s.label for s in a.sections)),
            Column("Signed by", lambda a: f"{a.home_signatory} / {a.practice_signatory}"),
        ]

    def _status(self, agreement: Any) -> str:
        today = self.today()
        if agreement.in_force_on(today):
            return "In force"
        return "Not started" if agreement.starts_on > today else "Ended"
