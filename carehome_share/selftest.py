"""`carehome-share --self-test`: show that an installed copy works end to end, on a throwaway
database: SQLCipher encrypts, the access rules allow and refuse, the audit chain verifies,
every document is written as a PDF (and the DPIA pack as DOCX), and the main window can be built. Prints one line per
check; exits 0 only when all pass. It needs no keychain, no display and no network."""

import io
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from carehome_share import demo
from carehome_share.domain.errors import AccessRefused
from carehome_share.domain.model import Role
from carehome_share.services import access, audit, auth, practices, reports, residents
from carehome_share.services.context import Context
from carehome_share.store import keychain
from carehome_share.store.vault import Vault


def _check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        raise SystemExit(1)


def _pdf(
    render: Callable[[Callable[[Any], int]], int], write: Callable[[Any, Any], int]
) -> tuple[int, bytes]:
    out = io.BytesIO()
    pages = render(lambda document: write(document, out))
    return pages, out.getvalue()


def _documents(ctx: Context, folder: Path, recovery_code: str) -> None:
    from carehome_share.reports.access_report import write_access_report
    from carehome_share.reports.consent_form import write_consent_form
    from carehome_share.reports.consent_register import write_consent_register
    from carehome_share.reports.dpia import write_dpia, write_dpia_docx
    from carehome_share.reports.history import write_resident_history
    from carehome_share.reports.recovery_sheet import write_recovery_sheet
    from carehome_share.reports.staff_list import write_staff_list
    from carehome_share.store.files import atomic_output

    resident_id = residents.find_residents(ctx, "")[0].resident.id
    practice = residents.resident_details(ctx, resident_id).record.practice
    assert practice is not None
    today = ctx.now().date()
    year_ago = today - timedelta(days=365)
    agreement_id = practices.list_agreements(ctx, practice.ods_code)[0].id
    documents = {
        "gp-access-report": (
            lambda r: reports.gp_access_report(ctx, practice.ods_code, year_ago, today, r),
            write_access_report,
        ),
        "resident-history": (
            lambda r: reports.resident_history(ctx, resident_id, r),
            write_resident_history,
        ),
        "consent-register": (lambda r: reports.consent_register(ctx, r), write_consent_register),
        "staff-list": (
            lambda r: reports.staff_list(ctx, practice.ods_code, year_ago, today, r),
            write_staff_list,
        ),
        "consent-form": (lambda r: reports.consent_form(ctx, resident_id, r), write_consent_form),
        "dpia-pack": (lambda r: reports.dpia_pack(ctx, agreement_id, r), write_dpia),
        "recovery-sheet": (
            lambda r: reports.recovery_sheet(ctx, recovery_code, r),
            write_recovery_sheet,
        ),
    }
    for name, (render, write) in documents.items():
        pages, data = _pdf(render, write)
        with atomic_output(folder / f"{name}.pdf") as out:
            out.write(data)
        ok = (
            data.startswith(b"%PDF-")
            and pages >= 1
            and (folder / f"{name}.pdf").stat().st_size == len(data)
        )
        _check(f"PDF {name}", ok, f"{pages} page(s), {len(data) // 1024} KiB")
    editable = io.BytesIO()  # python-docx needs its own template, which a bundle must carry
    reports.dpia_pack(ctx, agreement_id, lambda p: write_dpia_docx(p, editable), editable=True)
    data = editable.getvalue()
    _check("DOCX dpia-pack", data.startswith(b"PK"), f"{len(data) // 1024} KiB")
    from carehome_share.check import check_report  # what a GP practice runs on the report

    verdict = check_report(folder / "gp-access-report.pdf")
    detail = f"{len(verdict.findings)} checks passed" if verdict.ok else verdict.text()
    _check("signed GP access report passes check-report", verdict.ok, detail)


def _main_window(ctx: Context) -> None:
    from carehome_share.gui.selftest import main_window_tabs  # Qt only for this last check

    tabs = main_window_tabs(ctx)
    _check("main window", "Residents" in tabs, ", ".join(tabs))


def run() -> int:
    with tempfile.TemporaryDirectory(prefix="carehome-share-self-test-") as scratch:
        folder = Path(scratch)
        path = folder / "self-test.db"
        vault, code = Vault.create(path, purpose="demo")
        try:
            # The header, not the sqlite3 module: a second SQLite library opening the same file in
            # this process would drop SQLCipher's POSIX locks when it closes.
            with path.open("rb") as f:
                header = f.read(16)
            _check("database encrypted (no plain SQLite header)", header != b"SQLite format 3\x00")
            # Reported, not required: without a keychain the passwords alone seal the key slots.
            print(f"info the device secret goes to {keychain.describe()}", flush=True)
            ctx = Context(vault, workstation="self-test")
            summary = demo.generate(ctx, residents=12, sessions=80, seed=5)
            _check("synthetic data through the services", summary.sessions == 80, str(summary))

            auth.log_in(ctx, "nurse.amira", demo.DEMO_PASSWORD)
            opened = refused = 0
            for listing in residents.find_residents(ctx, ""):
                try:
                    session = access.open_access_session(
                        ctx,
                        listing.resident.id,
                        "medication_check",
                        "Self-test: checking the rules",
                    )
                    access.close_access_session(ctx, session.id)
                    opened += 1
                except AccessRefused:
                    refused += 1
            _check(
                "access rules", opened > 0 and refused > 0, f"{opened} allowed, {refused} refused"
            )
            auth.log_out(ctx)

            auth.log_in(ctx, "manager", demo.DEMO_PASSWORD, Role.MANAGER)
            _documents(ctx, folder, code)
            result = audit.verify(ctx)
            _check(
                "audit chain and file integrity",
                result.ok,
                f"{result.entries} entries, head {result.head_seq}",
            )
            for name, opening in (
                ("a staff password opens the file", lambda: demo.open_demo(path)),
                ("recovery code opens the file", lambda: Vault.open_with_recovery_code(path, code)),
            ):
                opened_vault = opening()
                _check(name, opened_vault.conn is not None)
                opened_vault.close()
            _main_window(ctx)
        finally:
            keychain.delete(keychain.device_entry(vault.home_id))  # leave the keychain as found
            vault.close()
    print("self-test passed")
    return 0
