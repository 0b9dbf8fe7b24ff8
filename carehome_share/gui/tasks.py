"""Long database work off the GUI thread, on a connection of its own (WAL lets it read while the
nurse's own actions write). One worker thread; results come back on the GUI thread; the status
bar shows a busy indicator while anything runs."""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from carehome_share.services.context import Context


class _Relay(QObject):
    finished = Signal(object, object)  # (callback, result)
    failed = Signal(object, object)  # (callback, exception)


class _Job(QRunnable):
    def __init__(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
        relay: _Relay,
    ) -> None:
        super().__init__()
        self.work, self.done, self.fail, self.relay = work, done, failed, relay

    def run(self) -> None:
        try:
            result = self.work()
        except Exception as exc:  # shown to the user by the GUI thread's handler
            self.relay.failed.emit(self.fail, exc)
        else:
            self.relay.finished.emit(self.done, result)


class Background(QObject):
    """Runs `work(ctx)` with a Context on its own connection, logged in as the GUI's user."""

    busy_changed = Signal(bool)

    def __init__(self, ctx: Context, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._main = ctx
        self._worker_ctx: Context | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one worker owns the second connection
        self._relay = _Relay(self)
        self._relay.finished.connect(self._deliver)
        self._relay.failed.connect(self._deliver)
        self._running = 0

    def run(
        self,
        work: Callable[[Context], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        if self._worker_ctx is None:
            self._worker_ctx = Context(
                self._main.vault.another(), self._main.clock, self._main.workstation
            )
        worker_ctx = self._worker_ctx
        login = self._main.login

        def job() -> Any:
            worker_ctx.login = login
            return work(worker_ctx)

        self._running += 1
        self.busy_changed.emit(True)
        self._pool.start(_Job(job, done, failed, self._relay))

    def _deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        self._running -= 1
        if self._running == 0:
            self.busy_changed.emit(False)
        callback(value)

    def wait(self) -> None:
        """Finish queued work (closing the window, and tests)."""
        self._pool.waitForDone()

    def close(self) -> None:
        self._pool.waitForDone()
        if self._worker_ctx is not None:
            self._worker_ctx.vault.close()
            self._worker_ctx = None
