"""How fast the GP access report is built, and in how much memory, against reportlab building a
plain table of the same session rows in the same run.

    python benchmarks/report_speed.py [--smoke]

Makes two throwaway demo databases in a temporary folder, as on a PC without a keychain (nothing
is written to the real one; each child process opens them with the demo password): a home whose
busiest practice has about 1,500 sessions in a month, and a care group whose busiest practice has
over 100,000 in a year. Each figure is measured in a process of its own, so its peak resident
memory (ru_maxrss) is its own; Python's peak allocation (tracemalloc) is measured in a second run,
because tracing slows down what it measures.

The plain table is the same rows as one line of plain strings each, in reportlab Tables of 50
rows (a single 100,000-row Table takes minutes: reportlab re-splits the rest at every page).
Goals: a month in <= 1 s; a year in <= 1.2x the plain table; memory that does not grow with rows.
What the report's evidence adds (issue "Trust 2": the signed tree head with an inclusion proof
for every entry listed, the FHIR Bundle of its rows, the PAdES signature) is timed apart, part
by part, on the report just made: goal <= 0.3 s for the month.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from env_keyring import no_keychain
from reportlab.lib.pagesizes import A4, landscape
from reportlab.platypus import SimpleDocTemplate, Table, TableStyle

from carehome_share import demo
from carehome_share.domain.evidence import BUNDLE_FILE, EVIDENCE_FILE
from carehome_share.domain.validation import day_start, uk_date
from carehome_share.interop import fhir
from carehome_share.reports.access_report import write_access_report
from carehome_share.reports.signature import Signer, sign
from carehome_share.services import auth, fhir_export, reports
from carehome_share.services.context import Context, collector_paused
from carehome_share.services.evidence import access_report_evidence
from carehome_share.store import repo, report_queries, signing
from carehome_share.store.files import atomic_output
from carehome_share.store.vault import Connection, Vault

# name: (residents, sessions over one year, days reported)
SCENARIOS = {"month": (120, 32_000, 30), "year": (3_000, 240_000, 365)}
SMOKE = {"month": (30, 400, 30), "year": (30, 800, 365)}


def _open(db: str) -> Context:
    ctx = Context(demo.open_demo(db), workstation="benchmark")
    auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
    return ctx


def _report(ctx: Context, a: argparse.Namespace, out: Path) -> int:
    with atomic_output(out) as sink:
        return reports.gp_access_report(
            ctx, a.ods, a.first, a.last, lambda report: write_access_report(report, sink)
        )


def _span(first: str, last: str) -> tuple[datetime, datetime]:
    """The UTC instants [start, end) of UK days `first` to `last`."""
    end = date.fromisoformat(last) + timedelta(days=1)
    return day_start(date.fromisoformat(first)), day_start(end)


def _plain_table(ctx: Context, a: argparse.Namespace, out: Path) -> int:
    start, end = _span(a.first, a.last)
    with ctx.vault.snapshot() as conn:  # the report's own query: the same rows, read the same way
        practice = repo.find_practice(conn, a.ods)
        assert practice is not None
        rows = [
            tuple(str(value) for value in line)
            for line in report_queries.practice_sessions(conn, practice.id, start, end)
        ]
    header = tuple(report_queries.SessionLine._fields)
    style = TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 6)])
    doc = SimpleDocTemplate(str(out), pagesize=landscape(A4))
    doc.build([Table([header, *rows[i : i + 50]], style=style) for i in range(0, len(rows), 50)])
    return doc.page


def _trust_cost(ctx: Context, a: argparse.Namespace) -> dict[str, float]:
    """The parts the evidence adds to a report, each timed on its own, as the report makes
    them: the Bundle's rows (with the period's audit entries, which the evidence lists too),
    the evidence and its JSON, the Bundle and its JSON; the signature, with both embedded
    (compressed while the PDF is laid out, as the report does) in a PDF of the report's size.
    The rows the report prints are read first, timed apart and not counted: the report reads
    them once for its table and its Bundle. Reading the Bundle's rows reads them again here: as
    long as reading them once more just after, which is taken off."""
    start, end = _span(a.first, a.last)
    with ctx.vault.snapshot() as conn:
        practice = repo.find_practice(conn, a.ods)
        assert practice is not None
        counts = report_queries.period_counts(conn, practice.id, start, end)
        totals = {
            "sessions": counts.sessions,
            "refusals": counts.refusals,
            "contacts": counts.contacts,
        }
        key = signing.document_key(conn)
        started = time.perf_counter()  # the rows the report prints, read as its table must
        _printed_rows(conn, practice.id, start, end)
        printed = time.perf_counter() - started
        started = time.perf_counter()
        rows = fhir_export.collect(conn, ctx.now(), a.first, a.last, a.ods)
        collected = time.perf_counter() - started
        started = time.perf_counter()  # what collect spent reading those rows again, taken off
        _printed_rows(conn, practice.id, start, end)
        collected -= time.perf_counter() - started
        started = time.perf_counter()
        made = access_report_evidence(
            conn, key, practice, (a.first, a.last), (start, end), totals, ctx.now(), rows.entries
        )
        attachments = {EVIDENCE_FILE: made.to_bytes()}
        evidence = time.perf_counter() - started
        started = time.perf_counter()
        attachments[BUNDLE_FILE] = b"".join(fhir.encoded_in_pieces(rows, made))
        bundle = collected + time.perf_counter() - started
    signer = Signer(key.private_key, key.certificate, attachments)  # starts compressing them
    laid_out = Path(a.db).with_name("laid-out.pdf")
    _plain_table(ctx, a, laid_out)  # what the report lays out meanwhile, not counted here
    started = time.perf_counter()
    sign(laid_out.read_bytes(), signer, "benchmark")
    signed = time.perf_counter() - started
    mib = {f"{name}_mib": len(data) / 2**20 for name, data in attachments.items()}
    return {"evidence": evidence, "rows": printed, "bundle": bundle, "sign": signed, **mib}


def _printed_rows(conn: Connection, practice_id: int, start: datetime, end: datetime) -> int:
    """The sessions, refusals and calls a report prints, read as the plain table reads them."""
    return sum(
        len(list(read(conn, practice_id, start, end)))
        for read in (
            report_queries.practice_sessions,
            report_queries.practice_refusals,
            report_queries.practice_contacts,
        )
    )


def measure(a: argparse.Namespace) -> None:
    """One measurement, in this process; prints JSON for the parent."""
    ctx = _open(a.db)
    if a.measure == "trust":
        with collector_paused():  # as the report builds them
            print(json.dumps(_trust_cost(ctx, a)))
        return
    out = Path(a.db).with_name(f"{a.measure}.pdf")
    if a.trace:
        tracemalloc.start()
    started = time.perf_counter()
    pages = (_report if a.measure == "report" else _plain_table)(ctx, a, out)
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] if a.trace else 0
    result = {
        "seconds": seconds,
        "pages": pages,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "traced_mib": traced / 2**20,
    }
    print(json.dumps(result))


def _child(db: Path, what: str, ods: str, first: str, last: str, *, trace: bool) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--measure", what, "--db", str(db), "--ods", ods]
    argv += ["--first", first, "--last", last, *(["--trace"] if trace else [])]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _scenario(folder: Path, name: str, size: tuple[int, int, int]) -> dict[str, Any]:
    residents, sessions, days = size
    db = folder / f"{name}.db"
    with no_keychain():
        vault, _code = Vault.create(db, purpose="demo")
        ctx = Context(vault, workstation="benchmark")
        started = time.perf_counter()
        demo.generate(ctx, residents=residents, sessions=sessions, seed=1, years=1)
    made = time.perf_counter() - started
    today = uk_date(ctx.now())
    first, last = str(today - timedelta(days=days)), str(today - timedelta(days=1))
    busiest = vault.conn.execute(
        "SELECT p.ods_code, p.id FROM access_session a JOIN practice p ON p.id = a.practice_id "
        "GROUP BY p.ods_code, p.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    counts = report_queries.period_counts(vault.conn, busiest[1], *_span(first, last))
    vault.close()
    period = (busiest[0], first, last)
    figures = {}
    for what in ("report", "table"):
        figures[what] = _child(db, what, *period, trace=False)
        figures[what]["traced_mib"] = _child(db, what, *period, trace=True)["traced_mib"]
    figures["trust"] = _child(db, "trust", *period, trace=False)
    return {"sessions": counts.sessions, "made": made, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks it runs")
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="run one scenario")
    parser.add_argument("--measure", choices=["report", "table", "trust"], help=argparse.SUPPRESS)
    for hidden in ("--db", "--ods", "--first", "--last"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.measure:
        measure(a)
        return
    print(
        f"{'':6} {'sessions':>9} {'pages':>6} {'report s':>9} {'table s':>8} {'ratio':>6} "
        f"{'report MiB':>11} {'table MiB':>10} {'report py':>10} {'table py':>9}"
    )
    with tempfile.TemporaryDirectory(prefix="carehome-reports-") as folder:
        for name, size in (SMOKE if a.smoke else SCENARIOS).items():
            if a.only and name != a.only:
                continue
            s = _scenario(Path(folder), name, size)
            report, table = s["report"], s["table"]
            print(
                f"{name:6} {s['sessions']:>9,} {report['pages']:>6,} {report['seconds']:>9.2f} "
                f"{table['seconds']:>8.2f} {report['seconds'] / table['seconds']:>6.2f} "
                f"{report['rss_mib']:>11.0f} {table['rss_mib']:>10.0f} "
                f"{report['traced_mib']:>10.1f} {table['traced_mib']:>9.1f}",
                flush=True,
            )
            trust = s["trust"]
            added = trust["evidence"] + trust["bundle"] + trust["sign"]
            print(
                f"{'':6} of which evidence {trust['evidence']:.2f} s "
                f"({trust[EVIDENCE_FILE + '_mib']:.1f} MiB), FHIR Bundle {trust['bundle']:.2f} s "
                f"({trust[BUNDLE_FILE + '_mib']:.1f} MiB), signature {trust['sign']:.2f} s: "
                f"{added:.2f} s added (goal <= 0.3 s); the printed rows, read first and not "
                f"counted: {trust['rows']:.2f} s",
                flush=True,
            )
    print(
        "MiB: peak resident memory of the process (includes SQLCipher's 64 MiB page cache); "
        "py: Python's peak allocation while building (tracemalloc)."
    )


if __name__ == "__main__":
    main()
