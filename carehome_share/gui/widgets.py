"""Small shared widgets: a sortable table of row objects, checkbox lists, buttons."""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSizePolicy,
    QTableView,
    QWidget,
)

from carehome_share.gui.models import ROW_ROLE, RowsModel, sorted_view_model


class Table(QTableView):
    """A sortable, row-selecting table over a RowsModel; `chosen()` is the selected row object.
    Rows stay in the service's order until a column header is clicked."""

    selection_changed = Signal()

    def __init__(
        self,
        model: RowsModel,
        name: str,
        stretch: int,
        proxy: QSortFilterProxyModel | None = None,
    ) -> None:
        super().__init__()
        self.source = model
        self.proxy = proxy or sorted_view_model(model)
        self.setModel(self.proxy)
        self.setAccessibleName(name)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        self.verticalHeader().hide()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
        self.selectionModel().selectionChanged.connect(self.selection_changed)
        self.proxy.modelReset.connect(self.selection_changed)

    def chosen(self) -> Any:
        rows = self.selectionModel().selectedRows()
        return rows[0].data(ROW_ROLE) if rows else None

    def select_where(self, wanted: Callable[[Any], bool]) -> None:
        for row, item in enumerate(self.source.rows):
            if wanted(item):
                self.selectRow(self.proxy.mapFromSource(self.source.index(row, 0)).row())
                return


class CheckList(QWidget):
    """A checkbox for each member of an enumeration that has a `label`."""

    changed = Signal()

    def __init__(self, members: list[Any], columns: int = 2) -> None:
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[Any, QCheckBox] = {}
        for i, member in enumerate(members):
            box = QCheckBox(member.label)
            grid.addWidget(box, i // columns, i % columns)
            box.toggled.connect(self.changed)
            self.boxes[member] = box
        self.setFocusProxy(next(iter(self.boxes.values())))

    def checked(self) -> list[Any]:
        return [member for member, box in self.boxes.items() if box.isChecked()]

    def set_checked(self, members: Any) -> None:
        for member, box in self.boxes.items():
            box.setChecked(member in members)


def button(text: str, action: Callable[[], Any]) -> QPushButton:
    push = QPushButton(text)
    push.setAccessibleName(text.replace("&", ""))
    push.clicked.connect(action)
    return push


def row_of(*widgets: QWidget, right: bool = False) -> QHBoxLayout:
    """Widgets side by side, at the left (or the right, as dialog buttons sit)."""
    row = QHBoxLayout()
    if right:
        row.addStretch()
    for widget in widgets:
        row.addWidget(widget)
    if not right:
        row.addStretch()
    return row


def enable_with(table: Table, push: QPushButton, when: Callable[[Any], bool] = bool) -> None:
    """Enable a button only while the table's selected row passes `when`."""

    def update() -> None:
        chosen = table.chosen()
        push.setEnabled(chosen is not None and when(chosen))

    table.selection_changed.connect(update)
    update()


def open_dialog(dialog: QDialog, done: Callable[[], None]) -> None:
    """Show a dialog window-modal without blocking; `done` runs when it is accepted."""
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.accepted.connect(done)
    dialog.open()
