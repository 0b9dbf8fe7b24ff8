"""`carehome-share check-report`: a GP practice checks the reports a home sent it, with nothing
but the documents.

Until the home side that makes the evidence lands (services/evidence.py, the access report's
attachments), the reports are made here: a home through the services, the evidence from its real
audit log as domain/evidence.py describes it (`evidence_for`), and a small signed PDF with the
three headings (`signed_pdf`). Tampering is then done as an insider with the home's key would,
or a forger with another key."""

import asyncio
import base64
import copy
import io
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.pdfgen.canvas import Canvas

from carehome_share import check, cli
from carehome_share.domain.evidence import BUNDLE_FILE, EVIDENCE_FILE, EVIDENCE_FORMAT
from carehome_share.domain.validation import UK
from carehome_share.interop import fhir
from carehome_share.reports.signature import Signer, sign
from carehome_share.services import access, auth, fhir_export
from carehome_share.services import backup as backup_service
from carehome_share.services.context import Context
from carehome_share.store import audit, merkle, signing
from carehome_share.store.signing import SigningKey
from carehome_share.store.vault import Connection, Vault
from tests.conftest import Clock
from tests.factories import MANAGER_PASSWORD, ODS, Home, play_november

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[Any, ...]
_COLUMNS = (
    "seq, at, actor_username, actor_name, actor_role, actor_nmc_pin, workstation, action, "
    "resident_id, outcome, reasons, details"
)
_CANONICAL = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# -- the practice's running numbers (a stand-in until the home side numbers its entries) --------


def _about(conn: Connection, resident_id: int | None, details: dict[str, Any] | None) -> str | None:
    """The ODS code of the practice an entry is about, as store/practice_log.py decides it."""
    if resident_id is not None:
        row = conn.execute(
            "SELECT p.ods_code FROM resident r JOIN practice p ON p.id = r.practice_id "
            "WHERE r.id = ?",
            (resident_id,),
        ).fetchone()
        if row:
            return str(row[0])
    ods = (details or {}).get("ods_code")
    return ods if isinstance(ods, str) else None


def _last_number(conn: Connection, ods: str) -> int:
    last = 0
    for (text,) in conn.execute("SELECT details FROM audit_log WHERE details LIKE '%practice%'"):
        practice = json.loads(text).get("practice")
        if isinstance(practice, dict) and practice.get("ods_code") == ods:
            last = max(last, practice["n"])
    return last


@pytest.fixture(autouse=True)
def numbered_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries about a practice carry {"practice": {"ods_code", "n"}}. Where the product does
    not number them yet, number them on the way into the log; where it does, its numbers win."""
    original = audit.append

    def append(conn: Connection, **kwargs: Any) -> int:
        details = kwargs.get("details")
        if not (details and "practice" in details):
            ods = _about(conn, kwargs.get("resident_id"), details)
            if ods:
                n = _last_number(conn, ods) + 1
                kwargs["details"] = {**(details or {}), "practice": {"ods_code": ods, "n": n}}
        return original(conn, **kwargs)

    monkeypatch.setattr(audit, "append", append)


# -- the evidence, built from the real audit log as domain/evidence.py describes it -------------


def log_rows(conn: Connection) -> list[Row]:
    return [tuple(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM audit_log ORDER BY seq")]


def _at(row: Row) -> datetime:
    return datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _practice(row: Row) -> dict[str, Any]:
    return json.loads(row[11]).get("practice") or {}


def _number_of(item: dict[str, Any]) -> int:
    """The running number of an entry as the evidence lists it."""
    return json.loads(json.loads(item["entry"])[11])["practice"]["n"]


def _kind(row: Row) -> str | None:
    if row[7] == "open_access_session":
        return {"allowed": "sessions", "denied": "refusals"}.get(row[9])
    return "contacts" if row[7] == "log_gp_contact" and row[9] == "allowed" else None


def _entry(row: Row) -> dict[str, Any]:
    return {"seq": row[0], "entry": audit.canonical_bytes(row).decode("utf-8")}


@dataclass
class Maker:
    """Who makes a report: the home (its own key and certificate), or a forger."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    home_id: str
    home_name: str = "Rose Court Care Home"

    @classmethod
    def home(cls, vault: Vault) -> "Maker":
        document = signing.document_key(vault.conn)
        return cls(document.private_key, document.certificate, vault.home_id)

    @classmethod
    def forger(cls, home_id: str) -> "Maker":
        key = SigningKey(ec.generate_private_key(ec.SECP256R1()))
        certificate = key.certificate("Rose Court Care Home", datetime(2026, 11, 1, tzinfo=UTC))
        return cls(key.private_key, certificate, home_id)

    @property
    def fingerprint(self) -> str:
        return signing.fingerprint(self.certificate.public_key())  # type: ignore[arg-type]


def evidence_for(
    rows: list[Row],
    maker: Maker,
    first_day: str,
    last_day: str,
    at: datetime,
    previous: dict[str, Any] | None = None,
    drop: Iterable[int] = (),
) -> dict[str, Any]:
    """The evidence of a report on ODS for days first..last, made at `at` over the log `rows`
    (leaf i is rows[i]). `previous` is the previous report's evidence; `drop` leaves out the
    entries with those running numbers, as an insider would, totals adjusted to match."""
    first, last = date.fromisoformat(first_day), date.fromisoformat(last_day)
    about = [
        r
        for r in rows
        if _practice(r).get("ods_code") == ODS and first <= _at(r).astimezone(UK).date() <= last
    ]
    earlier = signing.SignedTreeHead.from_json(previous["tree_head"]) if previous else None
    since = earlier.head.at if earlier else datetime.combine(first, datetime.min.time(), UK)
    restores = [r for r in rows if r[7] == "restore" and _at(r) >= since]
    consistency = [earlier.head.size] if earlier and earlier.head.size <= len(rows) else []
    proofs = merkle.prove(
        [merkle.entry_leaf_hash(r) for r in rows],
        len(rows),
        inclusion=[r[0] - 1 for r in [*about, *restores]],
        consistency_from=consistency,
    )
    head = signing.sign_proofs(SigningKey(maker.key), maker.home_id, proofs, at)
    listed = [r for r in about if _practice(r)["n"] not in set(drop)]
    numbers = [_practice(r)["n"] for r in about]
    counted = Counter(_kind(r) for r in listed)
    evidence: dict[str, Any] = {
        "format": EVIDENCE_FORMAT,
        "document": "gp_access_report",
        "home": {
            "name": maker.home_name,
            "home_id": maker.home_id,
            "certificate": maker.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "fingerprint": maker.fingerprint,
        },
        "practice": {"ods_code": ODS, "name": "Riverside Surgery"},
        "period": {"first_day": first_day, "last_day": last_day},
        "tree_head": head.to_json(),
        "entries": [_entry(r) for r in listed],
        "subtrees": [[*r, h.hex()] for r, h in sorted(proofs.subtrees.items())],
        "numbers": {"first": min(numbers, default=None), "last": max(numbers, default=None)},
        "totals": {kind: counted[kind] for kind in ("sessions", "refusals", "contacts")},
        "previous": None,
        "restores": [_entry(r) for r in restores],
    }
    if previous is not None and earlier is not None:
        evidence["previous"] = {
            "tree_head": previous["tree_head"],
            "proof": [h.hex() for h in proofs.consistency.get(earlier.head.size, [])],
            "numbers": previous["numbers"],
        }
    return evidence


def signed_pdf(
    evidence: dict[str, Any],
    bundle: dict[str, Any],
    maker: Maker,
    printed: dict[str, int] | None = None,
) -> bytes:
    """A small GP access report: the three headings with the totals (or `printed`), its data
    attached, signed (PAdES) as reports/signature.py signs every document. Not compressed, so a
    test can find its words in the file."""
    totals = printed or evidence["totals"]
    out = io.BytesIO()
    canvas = Canvas(out, pageCompression=0)
    canvas.setFont("Helvetica", 11)
    lines = [
        f"GP record access report: Riverside Surgery ({ODS}), {evidence['period']['first_day']} "
        f"to {evidence['period']['last_day']}",
        maker.home_name,
        f"Access sessions ({totals['sessions']:,})",
        f"Refused attempts ({totals['refusals']:,})",
        f"Calls to the practice instead ({totals['contacts']:,})",
    ]
    for n, line in enumerate(lines):
        canvas.drawString(60, 780 - 24 * n, line)
    canvas.showPage()
    canvas.save()
    attachments = {
        EVIDENCE_FILE: json.dumps(evidence, ensure_ascii=False, indent=1).encode(),
        BUNDLE_FILE: json.dumps(bundle, ensure_ascii=False, indent=1).encode(),
    }
    return sign(
        out.getvalue(), Signer(maker.key, maker.certificate, attachments), "GP access report"
    )


# -- a home's November and December -------------------------------------------------------------


@dataclass
class Report:
    """A report as the home made it: the log behind it, its evidence, Bundle and PDF."""

    rows: list[Row]
    evidence: dict[str, Any]
    bundle: dict[str, Any]
    pdf: bytes
    maker: Maker

    def save(self, folder: Path, name: str) -> Path:
        path = folder / name
        path.write_bytes(self.pdf)
        return path


@dataclass
class Story:
    """Sessions, a refusal with the call made instead, in November; more in December."""

    home: Home
    clock: Clock
    reports: dict[str, Report] = field(default_factory=dict)

    def __post_init__(self) -> None:
        played = play_november(self.home, self.clock)
        self.nurse, self.alice, self.bob = played.nurse, played.alice, played.bob
        self.refusal_id = played.refusal_id
        access.log_gp_contact(
            self.home.ctx, self.alice.id, "Practice nurse", "Dose query", "Confirmed by phone", None
        )

    def december(self) -> None:
        ctx = self.home.ctx
        self.clock.set("2026-12-02T11:00:00")
        self.home.log_in(self.nurse)
        session = access.open_access_session(
            ctx, self.bob.id, "care_plan_review", "Bob: December care plan review"
        )
        access.close_access_session(ctx, session.id)
        self.clock.set("2026-12-03T15:00:00")
        access.log_gp_contact(
            ctx, self.bob.id, "Dr Patel", "Blood pressure readings", "Dose halved", None
        )
        self.clock.set("2026-12-09T10:00:00")
        access.open_access_session(ctx, self.bob.id, "medication_check", "Bob: new dose")

    def report(
        self,
        first_day: str,
        last_day: str,
        at: str,
        previous: Report | None = None,
        maker: Maker | None = None,
        change: Callable[[list[Row]], list[Row]] | None = None,
        drop: Iterable[int] = (),
    ) -> Report:
        """Made at `at` by the manager: the Bundle through the export (a recorded disclosure),
        then the evidence over the log as it is, or as `change` rewrites it."""
        self.clock.set(at)
        ctx = self.home.ctx
        self.home.as_manager()
        bundle = fhir_export.export_fhir(ctx, first_day, last_day, ODS, fhir.bundle)
        rows = log_rows(ctx.vault.conn)
        if change is not None:
            rows = change(rows)
        maker = maker or Maker.home(ctx.vault)
        evidence = evidence_for(
            rows,
            maker,
            first_day,
            last_day,
            self.clock.now,
            previous.evidence if previous else None,
            drop,
        )
        dropped = {r[0] for r in rows if _practice(r).get("n") in set(drop)}
        bundle = _without_rows(bundle, dropped)
        return Report(rows, evidence, bundle, signed_pdf(evidence, bundle, maker), maker)

    def november_report(self) -> Report:
        return self.report("2026-11-01", "2026-11-30", "2026-12-01T09:00:00")


def _chain_seq(resource: dict[str, Any]) -> int | None:
    for extension in resource.get("extension", []):
        if extension.get("url") == fhir.CHAIN_EXTENSION:
            for part in extension["extension"]:
                if part["url"] == "sequence":
                    return int(part["valueInteger"])
    return None


def _without_rows(bundle: dict[str, Any], seqs: set[int]) -> dict[str, Any]:
    kept = [e for e in bundle["entry"] if _chain_seq(e["resource"]) not in seqs]
    return {**bundle, "entry": kept}


@pytest.fixture
def story(home: Home, clock: Clock) -> Story:
    return Story(home, clock)


@pytest.fixture
def november(story: Story) -> Report:
    return story.november_report()


def run_check(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = cli.run(["check-report", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def lines_of(output: str) -> dict[str, str]:
    """check name -> "OK" or "PROBLEM", from the verdict's lines."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(": ")
        if status in ("OK", "PROBLEM"):
            found[rest.split(": ", 1)[0]] = status
    return found


# -- one report -----------------------------------------------------------------------------------


def test_a_good_report_passes_every_check(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = november.save(tmp_path, "november.pdf")
    code, out = run_check(capsys, path, "--fingerprint", november.maker.fingerprint.lower())
    assert code == 0, out
    checks = lines_of(out)
    assert list(checks) == [
        "signature",
        "signing key",
        "contents",
        "audit log",
        "entries",
        "numbering",
        "totals",
    ]
    assert set(checks.values()) == {"OK"}, out
    assert "none missing" in out
    assert "2 access sessions, 1 refused attempt and 1 call to the practice" in out
    assert "Verdict: the report checks out" in out
    assert november.evidence["totals"] == {"sessions": 2, "refusals": 1, "contacts": 1}


def test_without_a_fingerprint_the_verdict_shows_it_to_compare(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_check(capsys, november.save(tmp_path, "november.pdf"))
    assert code == 0, out
    assert f"fingerprint {november.maker.fingerprint}: compare it with" in out
    assert "authorised staff list" in out


def test_one_byte_changed_fails_the_signature(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = november.pdf.index(b"Rose Court Care Home)")
    changed = bytearray(november.pdf)
    changed[where] = ord("N")  # "Nose Court Care Home"
    path = tmp_path / "changed.pdf"
    path.write_bytes(bytes(changed))
    code, out = run_check(capsys, path, "--fingerprint", november.maker.fingerprint)
    assert code == 1
    assert "PROBLEM: signature: the document was changed after it was signed" in out
    assert "Verdict: do not rely on this report" in out


def test_anything_added_after_signing_fails_the_signature(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(november.pdf))
    writer.root["/Lang"] = pdf_string("en-GB")
    writer.update_root()
    out_file = io.BytesIO()
    writer.write(out_file)
    path = tmp_path / "added.pdf"
    path.write_bytes(out_file.getvalue())
    code, out = run_check(capsys, path)
    assert code == 1
    assert "PROBLEM: signature: something was added to the document after it was signed" in out


def test_a_wrong_fingerprint_fails(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = Maker.forger(november.maker.home_id).fingerprint
    code, out = run_check(capsys, november.save(tmp_path, "n.pdf"), "--fingerprint", wrong)
    assert code == 1
    assert lines_of(out)["signing key"] == "PROBLEM"
    assert "not the one you gave" in out
    # a fingerprint that is not one is a usage error
    code, out = run_check(capsys, tmp_path / "n.pdf", "--fingerprint", "1234")
    assert code == 2 and "64 hex digits" in out


def _remove_entry(rows: list[Row], seq: int) -> list[Row]:
    """The log with entry `seq` taken out and every later entry renumbered (its sequence and,
    when about the practice, its running number): a forger's own consistent log."""
    gone = rows[seq - 1]
    gone_n = _practice(gone).get("n")
    result = []
    for row in rows:
        if row[0] < seq:
            result.append(row)
        elif row[0] > seq:
            details = json.loads(row[11])
            practice = details.get("practice")
            if practice and gone_n and practice["ods_code"] == ODS and practice["n"] > gone_n:
                details["practice"] = {**practice, "n": practice["n"] - 1}
            result.append((row[0] - 1, *row[1:11], _CANONICAL.encode(details)))
    return result


def test_a_forger_with_another_key_fails_on_the_fingerprint(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone without the home's key takes a session out and makes a whole new log, tree and
    signature of their own: every check holds but the key's."""
    genuine = story.november_report()
    story.december()
    home_print = genuine.maker.fingerprint
    rows = log_rows(story.home.ctx.vault.conn)
    session = next(r for r in rows if _kind(r) == "sessions" and r[1].startswith("2026-12-02"))
    forger = Maker.forger(story.home.ctx.vault.home_id)
    forged = story.report(
        "2026-12-01",
        "2026-12-31",
        "2027-01-01T09:00:00",
        maker=forger,
        change=lambda rows: _remove_entry(rows, session[0]),
    )
    forged.bundle = _without_rows(forged.bundle, {session[0]})
    # the export's rows name entries of the real log: the forger drops the chain links
    for item in forged.bundle["entry"]:
        item["resource"].pop("extension", None)
    forged.pdf = signed_pdf(forged.evidence, forged.bundle, forger)
    path = forged.save(tmp_path, "forged.pdf")

    code, out = run_check(capsys, path, "--fingerprint", home_print)
    assert code == 1
    checks = lines_of(out)
    assert checks.pop("signing key") == "PROBLEM", out
    assert set(checks.values()) == {"OK"}, out
    assert forger.fingerprint in out
    # beside the previous, genuine report it fails too, without a fingerprint typed in
    code, out = run_check(capsys, path, "--previous", genuine.save(tmp_path, "november.pdf"))
    assert code == 1
    assert lines_of(out)["previous report"] == "PROBLEM"
    assert "another key than this report" in out


def test_an_entry_left_out_by_the_home_shows_a_gap_named(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An insider with the home's key leaves one entry about the practice out of the report
    (totals, headings and Bundle made to match): its running number is missing."""
    rows = log_rows(story.home.ctx.vault.conn)
    refusal = next(r for r in rows if _kind(r) == "refusals")
    n = _practice(refusal)["n"]
    report = story.report("2026-11-01", "2026-11-30", "2026-12-01T09:00:00", drop=[n])
    assert report.evidence["totals"]["refusals"] == 0
    code, out = run_check(
        capsys, report.save(tmp_path, "r.pdf"), "--fingerprint", report.maker.fingerprint
    )
    assert code == 1
    assert (
        f"PROBLEM: numbering: entry number {n} about your practice is missing from this report"
        in out
    )
    checks = lines_of(out)
    assert checks.pop("numbering") == "PROBLEM"
    assert set(checks.values()) == {"OK"}, out


def test_a_changed_entry_fails_its_inclusion_proof(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = copy.deepcopy(november.evidence)
    entry = next(e for e in evidence["entries"] if "warfarin" in e["entry"])
    entry["entry"] = entry["entry"].replace("warfarin", "digoxin")
    pdf = signed_pdf(evidence, november.bundle, november.maker)
    path = tmp_path / "changed-entry.pdf"
    path.write_bytes(pdf)
    code, out = run_check(capsys, path, "--fingerprint", november.maker.fingerprint)
    assert code == 1
    assert f"PROBLEM: entries: audit entry {entry['seq']} as listed is not in" in out


def test_totals_that_disagree_with_the_entries_fail(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = signed_pdf(
        november.evidence,
        november.bundle,
        november.maker,
        printed={"sessions": 1, "refusals": 1, "contacts": 1},
    )
    path = tmp_path / "printed.pdf"
    path.write_bytes(pdf)
    code, out = run_check(capsys, path)
    assert code == 1
    assert "the report prints \u201cAccess sessions (1)\u201d but its data lists 2" in out
    # a Bundle missing a row
    bundle = copy.deepcopy(november.bundle)
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] != "Communication"
    ]
    path.write_bytes(signed_pdf(november.evidence, bundle, november.maker))
    code, out = run_check(capsys, path)
    assert code == 1
    assert "the FHIR data holds 0 calls to the practice, the log lists 1" in out


# -- two reports ----------------------------------------------------------------------------------


def test_a_later_report_that_extends_the_previous_passes(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = story.november_report()
    story.december()
    new = story.report("2026-12-01", "2026-12-31", "2027-01-01T09:00:00", old)
    old_path, new_path = old.save(tmp_path, "november.pdf"), new.save(tmp_path, "december.pdf")
    code, out = run_check(
        capsys, new_path, "--previous", old_path, "--fingerprint", new.maker.fingerprint
    )
    assert code == 0, out
    checks = lines_of(out)
    assert list(checks)[-3:] == ["previous report", "log continues", "numbers continue"]
    assert set(checks.values()) == {"OK"}, out
    old_last = old.evidence["numbers"]["last"]
    assert new.evidence["numbers"]["first"] == old_last + 1
    assert f"run on from {old_last} in the previous report to {old_last + 1}" in out
    assert "nothing in the home's log up to your previous report" in out
    assert "no entry about your practice is missing between the two reports" in out
    # on its own, the report still shows its log extends the previous report's
    code, out = run_check(capsys, new_path)
    assert code == 0, out
    assert "OK: log continues:" in out and "--previous OLD.pdf" in out


def test_a_log_rewritten_between_two_reports_fails_consistency(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An insider edits an early entry and rebuilds the tree: the new report's own entries
    prove fine, but its log no longer extends the one the previous report was signed over."""
    old = story.november_report()
    story.december()

    def rewrite(rows: list[Row]) -> list[Row]:
        edited = list(rows)
        row = edited[4]
        edited[4] = (*row[:3], "Somebody Else", *row[4:])
        return edited

    new = story.report("2026-12-01", "2026-12-31", "2027-01-01T09:00:00", old, change=rewrite)
    code, out = run_check(
        capsys, new.save(tmp_path, "new.pdf"), "--previous", old.save(tmp_path, "old.pdf")
    )
    assert code == 1
    checks = lines_of(out)
    assert checks.pop("log continues") == "PROBLEM", out
    assert set(checks.values()) == {"OK"}, out
    assert "entries before the previous report's were changed or removed" in out


def test_an_entry_left_out_at_the_end_shows_beside_the_next_report(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Leaving out the last entry of a period, numbers and all, hides it in that report alone;
    the next report's numbers then do not run on from it."""
    rows = log_rows(story.home.ctx.vault.conn)
    last_n = max(_practice(r).get("n", 0) for r in rows)
    old = story.november_report()
    evidence = copy.deepcopy(old.evidence)
    gone = next(e for e in evidence["entries"] if _number_of(e) == last_n)
    evidence["entries"].remove(gone)
    evidence["numbers"]["last"] = last_n - 1
    evidence["totals"]["contacts"] -= 1  # the last entry of November is the call
    old.evidence, old.bundle = evidence, _without_rows(old.bundle, {gone["seq"]})
    old.pdf = signed_pdf(evidence, old.bundle, old.maker)
    code, out = run_check(capsys, old.save(tmp_path, "old.pdf"))
    assert code == 0, out  # on its own, nothing shows
    story.december()
    new = story.report("2026-12-01", "2026-12-31", "2027-01-01T09:00:00", old)
    code, out = run_check(capsys, new.save(tmp_path, "new.pdf"), "--previous", tmp_path / "old.pdf")
    assert code == 1
    assert (
        f"PROBLEM: numbers continue: entry number {last_n} about your practice is missing "
        "between the two reports: neither lists it" in out
    )


def test_a_restore_between_two_reports_is_named(
    story: Story, clock: Clock, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = story.home
    backup_file = tmp_path / "friday.db"
    home.as_manager()
    backup_service.back_up(home.ctx, backup_file)
    clock.set("2026-11-28T10:00:00")
    home.log_in(story.nurse)
    access.open_access_session(home.ctx, story.bob.id, "medication_check", "Bob: weekend check")
    old = story.november_report()
    auth.log_out(home.ctx)
    home.ctx.vault.close()

    clock.set("2026-12-01T12:00:00")
    backup_service.restore(
        backup_file, db_path, username="manager", password=MANAGER_PASSWORD, clock=clock
    )
    ctx = Context(Vault.open_as(db_path, "manager", MANAGER_PASSWORD), clock=clock)
    auth.log_in(ctx, "manager", MANAGER_PASSWORD)
    story.home = Home(ctx, clock, home.manager)
    story.december()
    new = story.report("2026-12-01", "2026-12-31", "2027-01-01T09:00:00", old)
    try:
        code, out = run_check(
            capsys, new.save(tmp_path, "new.pdf"), "--previous", old.save(tmp_path, "old.pdf")
        )
    finally:
        ctx.vault.close()
    assert code == 1
    assert "PROBLEM: log continues: The home restored a backup on 01/12/2026 at 12:00" in out
    assert "Mary Manager (with the manager's password) put back the copy friday.db" in out
    assert "entries made after the backup was taken were removed from the log" in out
    assert "The home restored a backup between the two reports" in out
    # the practice's numbers went back with the log, and the verdict says why
    assert "the backup the home restored (above) took the numbers back" in out


# -- output and input -----------------------------------------------------------------------------


def test_json_output(november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = november.save(tmp_path, "november.pdf")
    code, out = run_check(capsys, path, "--json")
    assert code == 0
    verdict = json.loads(out)
    assert verdict["ok"] is True
    assert verdict["kind"] == "PDF"
    assert verdict["document"] == str(path)
    assert verdict["fingerprint"] == november.maker.fingerprint
    assert verdict["fingerprint_given"] is False
    assert verdict["practice"] == {"ods_code": ODS, "name": "Riverside Surgery"}
    assert verdict["period"] == {"first_day": "2026-11-01", "last_day": "2026-11-30"}
    head = november.evidence["tree_head"]
    assert verdict["tree_head"] == {
        "size": head["size"],
        "root": head["root"],
        "time": head["time"],
    }
    assert verdict["numbers"] == november.evidence["numbers"]
    assert verdict["totals"] == {"sessions": 2, "refusals": 1, "contacts": 1}
    assert verdict["previous"] is None and verdict["restores"] == []
    assert [c["check"] for c in verdict["checks"]][:2] == ["signature", "signing key"]
    assert all(set(c) == {"check", "ok", "text"} and c["ok"] for c in verdict["checks"])
    assert verdict["verdict"].startswith("Verdict: the report checks out")
    # the option is taken before the command too
    assert cli.run(["--json", "check-report", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_unreadable_input_exits_2(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "letter.txt"
    text.write_text("Dear practice manager")
    code, out = run_check(capsys, text)
    assert code == 2 and "is not a PDF" in out
    bare = io.BytesIO()
    canvas = Canvas(bare)
    canvas.drawString(60, 780, "Access sessions (0)")
    canvas.save()
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(bare.getvalue())
    code, out = run_check(capsys, plain)
    assert code == 2 and EVIDENCE_FILE in out
    code, out = run_check(capsys, tmp_path / "missing.pdf")
    assert code == 2
    assert cli.run(["check-report", str(text), "--json"]) == 2
    assert json.loads(capsys.readouterr().err)["kind"] == "Unreadable"


def _with_evidence(bundle: dict[str, Any], evidence: dict[str, Any]) -> dict[str, Any]:
    carried = base64.b64encode(json.dumps(evidence).encode()).decode()
    extension = {
        "url": check.EVIDENCE_EXTENSION,
        "valueAttachment": {"contentType": "application/json", "data": carried},
    }
    return {**bundle, "extension": [extension]}


def _sign_bundle(bundle: dict[str, Any], maker: Maker) -> dict[str, Any]:
    """Bundle.signature as check-report expects it: detached CMS over the canonical Bundle."""
    certificate = asn1_x509.Certificate.load(
        maker.certificate.public_bytes(serialization.Encoding.DER)
    )
    key = asn1_keys.PrivateKeyInfo.load(
        maker.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=key,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    cms = asyncio.run(
        signer.async_sign_general_data(check.bundle_signed_bytes(bundle), "sha256", detached=True)
    )
    signature = {
        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
        "when": "2026-12-01T09:00:00Z",
        "who": {"display": maker.home_name},
        "sigFormat": check.BUNDLE_SIGNATURE_FORMAT,
        "data": base64.b64encode(cms.dump()).decode(),
    }
    return {**bundle, "signature": signature}


def test_an_exported_bundle_with_the_evidence_is_checked_too(
    november: Report, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = _with_evidence(november.bundle, november.evidence)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(bundle))
    fingerprint = november.maker.fingerprint
    code, out = run_check(capsys, path, "--fingerprint", fingerprint)
    assert code == 0, out
    assert "(FHIR Bundle)" in out and "carries no document signature" in out
    # unsigned, every row must name its audit entry
    unlinked = copy.deepcopy(bundle)
    for item in unlinked["entry"]:
        item["resource"].pop("extension", None)
    path.write_text(json.dumps(unlinked))
    code, out = run_check(capsys, path, "--fingerprint", fingerprint)
    assert code == 1 and "in the Bundle name no audit entry" in out
    # signed, a change anywhere in it shows
    signed = _sign_bundle(bundle, november.maker)
    path.write_text(json.dumps(signed))
    code, out = run_check(capsys, path, "--fingerprint", fingerprint)
    assert code == 0, out
    assert "OK: signature: the document is exactly as it was signed" in out
    signed["entry"][0]["resource"]["name"] = "Another Home"
    path.write_text(json.dumps(signed))
    code, out = run_check(capsys, path, "--fingerprint", fingerprint)
    assert code == 1
    assert "PROBLEM: signature: the Bundle was changed after it was signed" in out
    # a Bundle without the evidence cannot be checked
    path.write_text(json.dumps(november.bundle))
    code, out = run_check(capsys, path)
    assert code == 2 and "without report evidence" in out


# -- other readers agree --------------------------------------------------------------------------


def test_pyhanko_and_poppler_validate_the_signature(november: Report, tmp_path: Path) -> None:
    good = november.save(tmp_path, "good.pdf")
    changed = bytearray(november.pdf)
    where = november.pdf.index(b"Rose Court Care Home)")
    changed[where] = ord("N")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(changed))
    certificate = tmp_path / "home.pem"
    certificate.write_bytes(november.maker.certificate.public_bytes(serialization.Encoding.PEM))

    pyhanko = Path(sys.executable).parent / "pyhanko"

    def validate(pdf: Path) -> str:
        result = subprocess.run(
            [str(pyhanko), "sign", "validate", "--trust", str(certificate), str(pdf)],
            capture_output=True,
            text=True,
        )
        return result.stdout + result.stderr

    assert ":INTACT:TRUSTED,UNTOUCHED" in validate(good)
    assert ":INTACT:" not in validate(bad)

    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.skip("poppler's pdfsig is not installed (apt-get install poppler-utils)")
    assert (
        "Signature is Valid"
        in subprocess.run([pdfsig, str(good)], capture_output=True, text=True).stdout
    )
    assert (
        "Signature is Valid"
        not in subprocess.run([pdfsig, str(bad)], capture_output=True, text=True).stdout
    )


# -- SLOW (a minute or two): a fresh install, as on a GP practice's PC ---------------------------

_TRIPWIRES = {
    # the keychain: any use of keyring lands here (PYTHON_KEYRING_BACKEND)
    "tripwire_keyring.py": """
import os
from keyring.backend import KeyringBackend

class Keyring(KeyringBackend):
    priority = 1

    def _touched(self, *args):
        open(os.environ["TRIPWIRE_HITS"] + "/keychain", "a").write(repr(args) + "\\n")
        raise RuntimeError("check-report used the keychain")

    get_password = set_password = delete_password = _touched
""",
    # the database: SQLCipher's connect is never called
    "sitecustomize.py": """
import os
import sqlcipher3.dbapi2 as dbapi2

def _connect(*args, **kwargs):
    open(os.environ["TRIPWIRE_HITS"] + "/database", "a").write(repr(args) + "\\n")
    raise RuntimeError("check-report opened a database")

dbapi2.connect = _connect
""",
}


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.timeout(1500)
def test_slow_fresh_venv_checks_a_report_with_no_database_or_keychain(
    story: Story, tmp_path: Path
) -> None:
    """SLOW: `pip install` of this project (no test extra) into a new venv, then check-report
    with HOME and the XDG folders in an empty folder, the keychain and SQLCipher wired to fail
    loudly if touched: it needs neither, and leaves nothing behind."""
    old = story.november_report()
    story.december()
    new = story.report("2026-12-01", "2026-12-31", "2027-01-01T09:00:00", old)
    old_path, new_path = old.save(tmp_path, "november.pdf"), new.save(tmp_path, "december.pdf")

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("carehome_share", "resources"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(source)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    listed = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "list"], capture_output=True, text=True
    ).stdout.lower()
    assert "pytest" not in listed and "pypdf" in listed and "pyhanko " in listed

    empty = tmp_path / "practice-pc"
    empty.mkdir()
    tripwires, hits = tmp_path / "tripwires", tmp_path / "hits"
    tripwires.mkdir()
    hits.mkdir()
    for name, code in _TRIPWIRES.items():
        (tripwires / name).write_text(code)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(empty),
        "USERPROFILE": str(empty),
        "APPDATA": str(empty / "AppData"),
        "LOCALAPPDATA": str(empty / "AppData" / "Local"),
        "XDG_DATA_HOME": str(empty / "data"),
        "XDG_CONFIG_HOME": str(empty / "config"),
        "XDG_CACHE_HOME": str(empty / "cache"),
        "XDG_STATE_HOME": str(empty / "state"),
        "XDG_RUNTIME_DIR": str(empty / "runtime"),
        "PYTHONPATH": str(tripwires),
        "PYTHON_KEYRING_BACKEND": "tripwire_keyring.Keyring",
        "TRIPWIRE_HITS": str(hits),
        "LANG": "C.UTF-8",
    }
    python = str(bin_dir / "python")
    for code in (
        "import sqlcipher3.dbapi2 as d; d.connect(':memory:')",
        "import keyring; keyring.get_password('carehome-share', 'x')",
    ):  # the tripwires work: touching either leaves its mark
        assert subprocess.run([python, "-c", code], env=env, cwd=empty).returncode != 0
    assert _files_under(hits) == ["database", "keychain"]
    shutil.rmtree(hits)
    hits.mkdir()

    result = subprocess.run(
        [
            str(bin_dir / "carehome-share"),
            "check-report",
            str(new_path),
            "--previous",
            str(old_path),
            "--fingerprint",
            new.maker.fingerprint,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(lines_of(result.stdout).values()) == {"OK"}
    assert "Verdict: the report checks out" in result.stdout
    assert _files_under(hits) == []  # neither tripwire fired
    assert _files_under(empty) == []  # no database, key file, keychain or cache left behind
