"""Long database work off the GUI thread, on a connection of its own (WAL lets it read while the
nurse's own actions write). One worker thread; results come back on the GUI thread; the status
bar shows a busy indicator while anything runs."""

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from carehome_share.services.context import Context


class _Relay(QObject):
    """Carries a result from the worker thread to the GUI thread (a queued signal)."""

    delivered = Signal(object, object)  # (callback, result or exception)


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
        self._relay.delivered.connect(self._deliver)
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
        worker_ctx, login, relay = self._worker_ctx, self._main.login, self._relay

        def job() -> None:
            worker_ctx.login = login
            try:
                result = work(worker_ctx)
            except Exception as exc:  # shown to the user by the GUI thread's handler
                relay.delivered.emit(failed, exc)
            else:
                relay.delivered.emit(done, result)

        self._running += 1
        self.busy_changed.emit(True)
        # A plain callable, not a QRunnable subclass: Qt owns the runnable it wraps it in, so no
        # Python wrapper can be collected while the worker thread is still returning from it.
        self._pool.start(job)

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
