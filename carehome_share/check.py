"""`carehome-share check-report`: what a GP practice runs, on its own PC, on a report the home
sent it. It needs the document (and the previous one) and nothing else: no database, no
keychain, no network, no account.

A report carries its own evidence (domain/evidence.py): the signed tree head of the home's audit
log, every listed entry with its inclusion proof, the practice's running numbers, and a
consistency proof from the head printed on the previous report sent to the practice. The checks,
one line each in the verdict:

1. signature: the PDF's PAdES signature (pyHanko) is intact, valid and covers the whole file;
2. signing key: it was made with the certificate the evidence names, whose fingerprint is the
   one the practice was given (`--fingerprint`), or is shown to be compared by eye;
3. contents: the evidence and the FHIR Bundle of the rows are attached, in a known format;
4. audit log: the tree head is signed by that key, for that home;
5. entries: each listed entry is in that tree at its place (RFC 9162 inclusion proof);
6. numbering: each entry is about this practice, in the period, numbered with no gap;
7. totals: the counts of the entries, the printed headings and the FHIR Bundle agree;
8. with `--previous`: the previous report passes 1-4 under the same key, this report follows
   its tree head, the log extends it (consistency proof) and the numbers continue. A restore
   of a backup between the two (listed in `restores`) is named in plain words.

A FHIR Bundle exported with the same evidence can be checked instead of a PDF (`read_report`):
the evidence travels base64 in the extension `EVIDENCE_EXTENSION` on `Bundle.meta` (where
`carehome-share export fhir --ods-code` puts it: R4 allows no extension on a Bundle itself) or
on the Bundle, and a document signature, if any, in `Bundle.signature` (see `_bundle_signature`).
Each session, refusal and call in a Bundle names the audit entries that recorded it
(audit-chain-entry extensions): for a session also each sections-viewed entry and its close,
each of which must be listed in the evidence or carry its inclusion proof, be about that
session, and agree with the parts of the record the Bundle says were viewed (`_session_problems`).
"""

import asyncio
import base64
import binascii
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from carehome_share.domain.errors import CarehomeError
from carehome_share.domain.evidence import BUNDLE_FILE, EVIDENCE_FILE, EVIDENCE_FORMAT
from carehome_share.domain.validation import UK
from carehome_share.store import merkle, signing
from carehome_share.store.signing import SignedTreeHead

EVIDENCE_EXTENSION = "https://carehome-share.example.org/fhir/StructureDefinition/report-evidence"
BUNDLE_SIGNATURE_FORMAT = "application/pkcs7-signature"  # detached CMS, as in the PDFs
DOCUMENT = "gp_access_report"
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
# as interop/fhir.py writes them (not imported: it brings the services with it)
_CHAIN_EXTENSION = "https://carehome-share.example.org/fhir/StructureDefinition/audit-chain-entry"
_SECTION_SYSTEM = "https://carehome-share.example.org/fhir/CodeSystem/gp-record-section"
# the entries that carry on a session once opened (store/fhir_queries.py FOLLOW_UPS)
_FOLLOW_UPS = frozenset({"record_sections_viewed", "close_access_session", "auto_close_session"})
_SEPARATORS = ",.\u00a0\u202f "  # thousands separators a printed number may carry
_HEADINGS = {
    "sessions": "Access sessions",
    "refusals": "Refused attempts",
    "contacts": "Calls to the practice instead",
}
_NOUNS = {
    "sessions": ("access session", "access sessions"),
    "refusals": ("refused attempt", "refused attempts"),
    "contacts": ("call to the practice", "calls to the practice"),
}


class Unreadable(CarehomeError):
    """Not something check-report can read: not a PDF or FHIR Bundle, or no evidence in it."""


class Malformed(ValueError):
    """A field of the evidence is missing or of the wrong kind."""


# -- reading a report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """What a document's own signature says. `problem` is None when it is intact, valid and
    covers the whole document; `certificate` is the signer's, when one could be read."""

    problem: str | None
    certificate: x509.Certificate | None = None
    signed_at: datetime | None = None
    present: bool = True


@dataclass
class Report:
    """A report as its reader holds it."""

    path: Path
    kind: str  # "PDF" or "FHIR Bundle"
    evidence: dict[str, Any]
    signature: Signature
    bundle: dict[str, Any] | None  # the FHIR Bundle of the rows (for a Bundle: itself)
    bundle_problem: str | None = None
    _text: Callable[[], str] | None = field(default=None, repr=False)

    @cached_property
    def text(self) -> str | None:
        """The printed text, all pages, as one line of words (None for a Bundle)."""
        return None if self._text is None else " ".join(self._text().split())

    @property
    def name(self) -> str:
        return self.path.name


def read_report(path: Path | str) -> Report:
    """Read a signed PDF report, or a FHIR Bundle carrying the same evidence."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Unreadable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data.lstrip()[:1] == b"{":
        return _read_bundle(path, data)
    if b"%PDF-" not in data[:1024]:
        raise Unreadable(f"{path.name} is not a PDF (nor a FHIR Bundle in JSON)")
    return _read_pdf(path, data)


def _read_pdf(path: Path, data: bytes) -> Report:
    from pypdf import PdfReader  # only check-report reads PDFs' text

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged file is reported, not logged
    try:
        reader = PdfReader(io.BytesIO(data))
        attachments = {name: files[0] for name, files in reader.attachments.items() if files}
    except Exception as exc:  # pypdf raises many kinds on a broken file
        raise Unreadable(f"{path.name} cannot be read as a PDF ({exc})") from None
    if EVIDENCE_FILE not in attachments:
        raise Unreadable(
            f"{path.name} carries no {EVIDENCE_FILE}: it is not a GP access report from "
            "carehome-share with its data attached (or the attachment was removed)"
        )
    evidence = _evidence(path, attachments[EVIDENCE_FILE])
    bundle, problem = None, None
    if BUNDLE_FILE not in attachments:
        problem = f"the FHIR Bundle of the rows ({BUNDLE_FILE}) is not attached"
    else:
        try:
            bundle = json.loads(attachments[BUNDLE_FILE])
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                bundle, problem = None, f"{BUNDLE_FILE} is not a FHIR Bundle"
        except ValueError:
            problem = f"{BUNDLE_FILE} is not JSON"

    def text() -> str:
        try:
            return " ".join(page.extract_text() or "" for page in reader.pages)
        except Exception:  # a damaged page: its headings are then reported missing
            return ""

    return Report(path, "PDF", evidence, _pdf_signature(data), bundle, problem, text)


def _read_bundle(path: Path, data: bytes) -> Report:
    try:
        bundle = json.loads(data)
    except ValueError:
        raise Unreadable(f"{path.name} is not a PDF, nor a FHIR Bundle in JSON") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise Unreadable(f"{path.name} is JSON but not a FHIR Bundle")
    meta = bundle.get("meta")
    extensions = [
        *_list(meta.get("extension") if isinstance(meta, dict) else None),
        *_list(bundle.get("extension")),  # where the first hand-made Bundles carried it
    ]
    attachment = next(
        (
            e.get("valueAttachment")
            for e in extensions
            if isinstance(e, dict) and e.get("url") == EVIDENCE_EXTENSION
        ),
        None,
    )
    carried = attachment.get("data") if isinstance(attachment, dict) else None
    if not isinstance(carried, str):
        raise Unreadable(
            f"{path.name} is a FHIR Bundle without report evidence (extension "
            f"{EVIDENCE_EXTENSION}): export it with the evidence to check it"
        )
    try:
        raw = base64.b64decode(carried, validate=True)
    except (ValueError, binascii.Error):
        raise Unreadable(f"{path.name}: the report evidence in it is not base64") from None
    evidence = _evidence(path, raw)
    return Report(path, "FHIR Bundle", evidence, _bundle_signature(bundle), bundle)


def _evidence(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        evidence = json.loads(raw)
    except ValueError:
        raise Unreadable(f"{path.name}: its {EVIDENCE_FILE} is not JSON") from None
    if not isinstance(evidence, dict):
        raise Unreadable(f"{path.name}: its {EVIDENCE_FILE} is not a JSON object")
    if evidence.get("format") != EVIDENCE_FORMAT:
        raise Unreadable(
            f"{path.name}: its evidence is in a format this version of carehome-share does not "
            f"know ({evidence.get('format')!r}); install the latest version to check it"
        )
    return evidence


def _pdf_signature(data: bytes) -> Signature:
    """Validate the PDF's signature with pyHanko, trusting the signer's own certificate (what
    makes it the home's is its fingerprint, checked apart)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        signatures = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
    except Exception as exc:
        return Signature(
            f"the file's structure is damaged, so its signature cannot be read ({exc})"
        )
    if not signatures:
        return Signature("the document is not signed", present=False)
    embedded = signatures[-1]
    certificate = _certificate(embedded.signer_cert.dump()) if embedded.signer_cert else None
    if len(signatures) > 1:
        return Signature(
            f"the document carries {len(signatures)} signatures; the home signs its reports once",
            certificate,
        )
    try:
        context = ValidationContext(trust_roots=[embedded.signer_cert], allow_fetching=False)
        status = validate_pdf_signature(embedded, context)
    except Exception as exc:
        return Signature(f"the signature cannot be checked ({exc})", certificate)
    signed_at = status.signer_reported_dt
    if not status.intact:
        problem = "the document was changed after it was signed"
    elif not status.valid:
        problem = "the signature does not match the key it names"
    elif status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        problem = "something was added to the document after it was signed"
    elif not status.bottom_line:
        problem = f"pyHanko does not accept the signature ({status.summary()})"
    else:
        problem = None
    return Signature(problem, certificate, signed_at)


def bundle_signed_bytes(bundle: dict[str, Any]) -> bytes:
    """What `Bundle.signature` signs: the Bundle without its `signature`, as JSON with keys
    sorted, no spaces, UTF-8 (RFC 8785's shape for the values a Bundle holds)."""
    unsigned = {key: value for key, value in bundle.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _bundle_signature(bundle: dict[str, Any]) -> Signature:
    """A Bundle may carry a document signature: `Bundle.signature` with sigFormat
    application/pkcs7-signature and `data` a detached CMS SignedData (by the home's certificate)
    over `bundle_signed_bytes`. Without one, each row is checked against the signed log."""
    sig = bundle.get("signature")
    if sig is None:
        return Signature(None, present=False)
    from asn1crypto import cms
    from pyhanko.sign.validation import async_validate_detached_cms
    from pyhanko_certvalidator import ValidationContext

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    try:
        if sig.get("sigFormat") != BUNDLE_SIGNATURE_FORMAT:
            return Signature(f"the Bundle's signature is not {BUNDLE_SIGNATURE_FORMAT}")
        signed = cms.ContentInfo.load(base64.b64decode(sig["data"], validate=True))["content"]
        certificates = [c.chosen for c in signed["certificates"]]
        context = ValidationContext(trust_roots=certificates, allow_fetching=False)
        checking = async_validate_detached_cms(bundle_signed_bytes(bundle), signed, context)
        status = asyncio.run(checking)
    except Exception as exc:
        return Signature(f"the Bundle's signature cannot be read ({exc})")
    certificate = _certificate(status.signing_cert.dump()) if status.signing_cert else None
    if not status.intact:
        return Signature("the Bundle was changed after it was signed", certificate)
    if not (status.valid and status.bottom_line):
        return Signature("the Bundle's signature does not match the key it names", certificate)
    return Signature(None, certificate, status.signer_reported_dt)


def _certificate(der: bytes) -> x509.Certificate | None:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


# -- the verdict ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    text: str

    def line(self) -> str:
        return f"{'OK' if self.ok else 'PROBLEM'}: {self.check}: {self.text}"


@dataclass
class Verdict:
    report: Report
    findings: list[Finding]
    conclusion: str
    facts: dict[str, Any]

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.findings)

    def text(self) -> str:
        return "\n".join(
            [self.facts["about"], *(f.line() for f in self.findings), "", self.conclusion]
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            **{k: v for k, v in self.facts.items() if k != "about"},
            "checks": [{"check": f.check, "ok": f.ok, "text": f.text} for f in self.findings],
            "verdict": self.conclusion,
        }


# -- the evidence, read carefully -----------------------------------------------------------------


def _field(data: Any, name: str, kind: type | tuple[type, ...], where: str = "evidence") -> Any:
    if not isinstance(data, dict) or name not in data:
        raise Malformed(f"{where} has no {name}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise Malformed(f"{where}.{name} is not what it should be")
    return value


def _day(text: Any) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise Malformed(f"{text!r} is not a day") from None


def _hashes(values: Any, where: str) -> list[bytes]:
    if not isinstance(values, list):
        raise Malformed(f"{where} is not a list of hashes")
    try:
        return [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise Malformed(f"{where} holds something that is not a hash") from None


@dataclass(frozen=True)
class Entry:
    """An audit entry as the evidence lists it, with what the checks need out of it."""

    seq: int
    text: str
    fields: list[Any] | None  # the 12 values, or None when the text is not an entry

    @property
    def at(self) -> datetime | None:
        try:
            return datetime.strptime(self.value(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except (TypeError, ValueError):
            return None

    def value(self, index: int) -> Any:
        return self.fields[index] if self.fields else None

    @property
    def details(self) -> dict[str, Any]:
        try:
            details = json.loads(self.value(11))
        except (TypeError, ValueError):
            return {}
        return details if isinstance(details, dict) else {}

    @property
    def practice(self) -> tuple[str | None, int | None]:
        """The practice's ODS code and running number the entry carries."""
        practice = self.details.get("practice")
        if not isinstance(practice, dict):
            return None, None
        n = practice.get("n")
        number = n if _ints(n) else None
        return practice.get("ods_code"), number

    @property
    def kind(self) -> str | None:
        """What the report counts it as: "sessions", "refusals", "contacts" or None."""
        action, outcome = self.value(7), self.value(9)
        if action == "open_access_session" and isinstance(outcome, str):
            return {"allowed": "sessions", "denied": "refusals"}.get(outcome)
        if action == "log_gp_contact" and outcome == "allowed":
            return "contacts"
        return None


def _entries(items: Any, where: str) -> list[Entry]:
    if not isinstance(items, list):
        raise Malformed(f"evidence.{where} is not a list")
    entries = []
    for n, item in enumerate(items):
        seq = _field(item, "seq", int, f"{where}[{n}]")
        text = _field(item, "entry", str, f"{where}[{n}]")
        try:
            fields = json.loads(text)
        except ValueError:
            fields = None
        if not isinstance(fields, list) or len(fields) != 12:
            fields = None
        entries.append(Entry(seq, text, fields))
    return entries


def _subtrees(evidence: dict[str, Any]) -> dict[merkle.Range, bytes]:
    """The evidence's table of subtree hashes, [start, end, hash] each, by leaf range."""
    items = _field(evidence, "subtrees", list)
    table = {}
    for n, item in enumerate(items):
        if not (isinstance(item, list) and len(item) == 3 and _ints(*item[:2])):
            raise Malformed(f"evidence.subtrees[{n}] is not [start, end, hash]")
        (value,) = _hashes(item[2:], f"evidence.subtrees[{n}]")
        table[item[0], item[1]] = value
    return table


def _ints(*values: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def _inclusion_proof(subtrees: dict[merkle.Range, bytes], seq: int, size: int) -> list[bytes]:
    """Entry `seq`'s RFC 9162 inclusion proof, from the hashes of the ranges on its path (a
    range the table lacks leaves the proof short, and it fails)."""
    try:
        path = merkle.inclusion_ranges(seq - 1, size)
    except merkle.MerkleError:
        return []
    return [subtrees[r] for r in path if r in subtrees]


def _head(data: Any, where: str) -> SignedTreeHead:
    try:
        return SignedTreeHead.from_json(data)
    except signing.SigningError as exc:
        raise Malformed(f"{where} is not a signed tree head ({exc})") from None


def _public_key_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _same_key(one: x509.Certificate, other: x509.Certificate) -> bool:
    """Two certificates of the home's key (each document's copy is signed anew, so their bytes
    differ; the key, which the fingerprint names, is what must be the same)."""
    return bool(_public_key_pem(one) == _public_key_pem(other))


def _certificate_of(evidence: dict[str, Any]) -> x509.Certificate:
    pem = _field(_field(evidence, "home", dict), "certificate", str, "evidence.home")
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        raise Malformed("evidence.home.certificate is not a certificate") from None


# -- words ----------------------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return moment.astimezone(UK).strftime("%d/%m/%Y at %H:%M (UK time)")


def _uk_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _shown_day(text: Any) -> str:
    try:
        return _uk_day(_day(text))
    except Malformed:
        return "?"


def _count(n: int, kind: str) -> str:
    one, many = _NOUNS[kind]
    return f"{n:,} {one if n == 1 else many}"


def _numbers(numbers: Sequence[int]) -> str:
    """17; 17 and 19; 17 to 20; 3, 17 to 20 and 25."""
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    parts = [str(a) if a == b else f"{a} and {b}" if b == a + 1 else f"{a} to {b}" for a, b in runs]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _missing(numbers: Sequence[int], between: bool = False) -> str:
    """Missing running numbers, named: from this report, or between two reports."""
    one = len(numbers) == 1
    text = (
        f"entry number {numbers[0]} about your practice is missing"
        if one
        else f"entry numbers {_numbers(numbers)} about your practice are missing"
    )
    if between:
        return f"{text} between the two reports: neither lists {'it' if one else 'them'}"
    return f"{text} from this report"


def _head_words(head: SignedTreeHead) -> str:
    size = head.head.size
    return f"{size:,} {'entry' if size == 1 else 'entries'} on {_when(head.head.at)}"


# -- the checks -----------------------------------------------------------------------------------


class _Checks:
    """The findings of one run, in order, each check guarded so that malformed evidence is a
    finding, not a crash."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, check: str, ok: bool, text: str) -> bool:
        self.findings.append(Finding(check, ok, text))
        return ok

    def run(self, check: str, work: Callable[[], tuple[bool, str]]) -> bool:
        try:
            ok, text = work()
        except Malformed as exc:
            ok, text = False, f"the report's data is malformed: {exc}"
        except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
            # hostile or damaged data the reading above did not foresee: fail, never crash
            ok, text = False, f"the report's data is malformed ({type(exc).__name__}: {exc})"
        return self.add(check, ok, text)


@dataclass
class _Read:
    """What the first checks of a report established, for the later ones."""

    certificate: x509.Certificate | None = None  # the evidence's, once it parsed
    head: SignedTreeHead | None = None  # once its signature verified
    entries: list[Entry] = field(default_factory=list)
    restores: list[Entry] = field(default_factory=list)  # those whose proofs verified


def check_report(
    new: Path | str, previous: Path | str | None = None, fingerprint: str | None = None
) -> Verdict:
    """Check a report (and that it follows the previous one) as a GP practice would."""
    if fingerprint is not None and len(re.sub(r"[\s:-]", "", fingerprint)) != 64:
        raise Unreadable(
            "--fingerprint: 64 hex digits are expected (16 groups of 4, as on the staff list)"
        )
    report = read_report(new)
    old = read_report(previous) if previous is not None else None
    checks = _Checks()
    read = _check_document(checks, report, fingerprint)
    _check_entries(checks, report, read)
    old_read = None
    if old is not None:
        old_read = _check_previous(checks, old, report, read)
    else:
        _check_own_previous(checks, report, read)
    return _verdict(checks, report, read, fingerprint, old, old_read)


def _check_document(checks: _Checks, report: Report, fingerprint: str | None) -> _Read:
    """Checks 1 to 3: signature, signing key, contents, and the signed tree head."""
    read = _Read()
    signature = report.signature
    if report.kind == "PDF" or signature.present:
        text = "the document is exactly as it was signed: nothing changed or added since"
        if signature.signed_at:
            text += f" (signed {_when(signature.signed_at)})"
        checks.add("signature", signature.problem is None, signature.problem or text)
    else:
        checks.add(
            "signature",
            True,
            "the FHIR Bundle carries no document signature: each session, refusal and call in "
            "it is checked against the home's signed audit log below",
        )
    checks.run("signing key", lambda: _check_key(report, read, fingerprint))
    checks.run("contents", lambda: _check_contents(report))
    checks.run("audit log", lambda: _check_head(report, read))
    return read


def _check_key(report: Report, read: _Read, fingerprint: str | None) -> tuple[bool, str]:
    read.certificate = certificate = _certificate_of(report.evidence)
    shown = signing.fingerprint(certificate.public_key())  # type: ignore[arg-type]
    signer = report.signature.certificate
    if signer is not None and signer != certificate:
        signer_print = signing.fingerprint(signer.public_key())  # type: ignore[arg-type]
        return False, (
            f"the document was signed with a key (fingerprint {signer_print}) other than the "
            f"one its data names (fingerprint {shown})"
        )
    stated = _field(report.evidence, "home", dict).get("fingerprint")
    if stated is not None and not (
        isinstance(stated, str) and signing.same_fingerprint(stated, shown)
    ):
        return False, f"the report states the fingerprint {stated}, but its key's is {shown}"
    if fingerprint is None:
        return True, (
            f"fingerprint {shown}: compare it with the fingerprint on the authorised staff list "
            "the home gave you; if they differ, this report is not from the home's key"
        )
    if signing.same_fingerprint(fingerprint, shown):
        return True, f"fingerprint {shown}, the one you gave: the home's own key"
    return False, (
        f"the key's fingerprint is {shown}, not the one you gave: this report was not signed "
        "with the home's key"
    )


def _check_contents(report: Report) -> tuple[bool, str]:
    evidence = report.evidence
    if evidence.get("document") != DOCUMENT:
        return False, f"the data is not a GP access report's (it says {evidence.get('document')!r})"
    if report.bundle_problem:
        return False, report.bundle_problem
    practice = _field(evidence, "practice", dict)
    period = _field(evidence, "period", dict)
    first, last = _day(period.get("first_day")), _day(period.get("last_day"))
    if last < first:
        raise Malformed("the period ends before it starts")
    what = "its data and the FHIR Bundle of its rows are attached" if report.kind == "PDF" else ""
    what = what or "the Bundle carries the report's evidence"
    return True, (
        f"{what}: a GP access report for {practice.get('name')} ({practice.get('ods_code')}), "
        f"{_uk_day(first)} to {_uk_day(last)}"
    )


def _check_head(report: Report, read: _Read) -> tuple[bool, str]:
    evidence = report.evidence
    head = _head(_field(evidence, "tree_head", dict), "evidence.tree_head")
    home_id = _field(_field(evidence, "home", dict), "home_id", str, "evidence.home")
    if read.certificate is None:
        return False, "cannot be checked without the home's certificate"
    if not signing.verify_signed_head(_public_key_pem(read.certificate), head):
        return False, "the audit log's tree head is not signed by the home's key"
    if head.head.home_id != home_id:
        return False, (
            f"the signed tree head is of another home's log ({head.head.home_id}, not {home_id})"
        )
    read.head = head
    return True, f"the home's audit log, {_head_words(head)}, is signed with that key"


def _check_entries(checks: _Checks, report: Report, read: _Read) -> None:
    """Checks 4 to 6: inclusion proofs, the practice's running numbers, the totals."""
    checks.run("entries", lambda: _check_inclusion(report, read))
    checks.run("numbering", lambda: _check_numbering(report, read))
    checks.run("totals", lambda: _check_totals(report, read))


def _included(entry: Entry, head: SignedTreeHead, proof: list[bytes]) -> bool:
    leaf = merkle.leaf_hash(entry.text.encode("utf-8"))
    return (
        entry.fields is not None
        and entry.fields[0] == entry.seq
        and merkle.verify_inclusion(leaf, entry.seq - 1, head.head.size, proof, head.head.root)
    )


def _check_inclusion(report: Report, read: _Read) -> tuple[bool, str]:
    read.entries = entries = _entries(report.evidence.get("entries"), "entries")
    restores = _entries(report.evidence.get("restores", []), "restores")
    subtrees = _subtrees(report.evidence)
    if read.head is None:
        return False, "cannot be checked without a signed tree head"
    head = read.head

    def included(entry: Entry) -> bool:
        return _included(entry, head, _inclusion_proof(subtrees, entry.seq, head.head.size))

    seqs = [e.seq for e in entries]
    if seqs != sorted(set(seqs)):
        return False, "the entries are not listed once each, oldest first"
    bad = [e.seq for e in entries if not included(e)]
    bad_restores = [e.seq for e in restores if not included(e)]
    read.restores = [e for e in restores if e.seq not in bad_restores and e.value(7) == "restore"]
    if bad:
        which = "entry" if len(bad) == 1 else "entries"
        return False, (
            f"audit {which} {_numbers(bad)} as listed {'is' if len(bad) == 1 else 'are'} not in "
            "the home's signed log: changed after it was logged, or not the home's"
        )
    if bad_restores:
        return False, f"the restore entry {_numbers(bad_restores)} is not in the signed log"
    n = len(entries)
    if n == 0:
        return True, "the report lists no entries"
    return True, (
        f"{'the one entry' if n == 1 else f'all {n:,} entries'} listed "
        f"{'is' if n == 1 else 'are'} in that signed log, each at its place and unchanged"
    )


def _check_numbering(report: Report, read: _Read) -> tuple[bool, str]:
    evidence = report.evidence
    ods = _field(_field(evidence, "practice", dict), "ods_code", str, "evidence.practice")
    period = _field(evidence, "period", dict)
    first_day, last_day = _day(period.get("first_day")), _day(period.get("last_day"))
    numbers = _field(evidence, "numbers", dict)
    first, last = numbers.get("first"), numbers.get("last")
    problems = []
    ns = []
    for entry in read.entries:
        code, n = entry.practice
        if code != ods or n is None:
            problems.append(f"entry {entry.seq} is not numbered as about your practice")
            continue
        at = entry.at
        if at is None or not first_day <= at.astimezone(UK).date() <= last_day:
            problems.append(f"entry {entry.seq} was not made in the report's period")
        ns.append(n)
    if not read.entries:
        if first is not None or last is not None:
            problems.append(f"the report covers numbers {first} to {last} but lists no entry")
        if problems:
            return False, "; ".join(problems)
        return True, "no entry about your practice was made in the period"
    if not (isinstance(first, int) and isinstance(last, int) and first <= last):
        return False, "the report does not say which running numbers it covers"
    counted = Counter(ns)
    repeated = sorted(n for n, times in counted.items() if times > 1)
    if repeated:
        problems.append(f"entry number {_numbers(repeated)} is listed more than once")
    outside = sorted(n for n in counted if not first <= n <= last)
    if outside:
        problems.append(f"entry number {_numbers(outside)} is outside {first} to {last}")
    if ns != sorted(ns):
        problems.append("the running numbers are not in the order of the log")
    gaps = [n for n in range(first, last + 1) if n not in counted]
    if gaps:
        problems.insert(0, _missing(gaps))
    if problems:
        return False, "; ".join(problems)
    return True, (
        f"the entries about your practice ({ods}) are numbered {first:,} to {last:,}, none missing"
    )


def _bundle_rows(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The Bundle's sessions, refusals and calls (IHE / DICOM codes as interop/fhir.py writes)."""
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _HEADINGS}
    for item in _list(bundle.get("entry")):
        resource = item.get("resource") if isinstance(item, dict) else None
        if not isinstance(resource, dict):
            continue
        if resource.get("resourceType") == "Communication":
            rows["contacts"].append(resource)
        elif resource.get("resourceType") == "AuditEvent":
            coding = resource.get("type")
            coding = coding if isinstance(coding, dict) else {}
            if coding.get("system") == _DCM and coding.get("code") == "110113":
                rows["refusals"].append(resource)
            elif coding.get("system") == _EVENT_TYPE and coding.get("code") == "rest":
                rows["sessions"].append(resource)
    return rows


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


@dataclass(frozen=True)
class _Named:
    """An audit entry a FHIR row names: its sequence number, its exact bytes (None when the
    row names it by number, as one the evidence lists), and the inclusion proof the Bundle
    carries for it (None when it carries none)."""

    seq: int
    entry: bytes | None
    proof: list[bytes] | None

    def is_(self, listed: Entry) -> bool:
        """Names that listed entry: by number alone, or with the same bytes."""
        return self.entry is None or self.entry == listed.text.encode("utf-8")


def _chain_entries(resource: dict[str, Any]) -> list[_Named | None]:
    """Every audit entry a FHIR row names, oldest first (None for one that cannot be read)."""
    return [
        _named(extension)
        for extension in _list(resource.get("extension"))
        if isinstance(extension, dict) and extension.get("url") == _CHAIN_EXTENSION
    ]


def _named(extension: dict[str, Any]) -> _Named | None:
    parts = {p.get("url"): p for p in _list(extension.get("extension")) if _is_dict(p)}
    try:
        seq = parts["sequence"]["valueInteger"]
        entry = None
        if "entry" in parts:
            entry = base64.b64decode(parts["entry"]["valueBase64Binary"], validate=True)
        proof = None
        if "inclusionProof" in parts:
            raw = base64.b64decode(parts["inclusionProof"]["valueBase64Binary"], validate=True)
            if len(raw) % 32:
                return None
            proof = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    return _Named(seq, entry, proof)


def _chain_entry(resource: dict[str, Any]) -> _Named | None:
    """The audit entry a FHIR row says recorded it, the first it names: the session opened,
    the refusal, the call."""
    named = _chain_entries(resource)
    return named[0] if named else None


def _printed(text: str, heading: str) -> list[int]:
    found = re.findall(rf"{re.escape(heading)} \((\d[\d{_SEPARATORS}]*)\)", text)
    return [int(re.sub(rf"[{_SEPARATORS}]", "", n)) for n in found]


def _check_totals(report: Report, read: _Read) -> tuple[bool, str]:
    totals = _field(report.evidence, "totals", dict)
    counted = Counter(e.kind for e in read.entries if e.kind)
    problems = []
    for kind in _HEADINGS:
        stated = _field(totals, kind, int, "evidence.totals")
        if stated != counted[kind]:
            problems.append(
                f"the data gives {_count(stated, kind)} but lists {counted[kind]:,} entries of them"
            )
    text = report.text
    if text is not None:
        for kind, heading in _HEADINGS.items():
            shown = _printed(text, heading)
            if not shown:
                problems.append(f"the heading \u201c{heading} (N)\u201d is not printed")
            elif any(n != counted[kind] for n in shown):
                problems.append(
                    f"the report prints \u201c{heading} ({shown[0]:,})\u201d but its data lists "
                    f"{counted[kind]:,}"
                )
    if report.bundle is not None:
        problems += _bundle_problems(report, read, counted)
    if problems:
        return False, "; ".join(problems)
    where = "as printed and as in the FHIR data" if text is not None else "as in the FHIR data"
    parts = [_count(counted[kind], kind) for kind in _HEADINGS]
    return True, f"{parts[0]}, {parts[1]} and {parts[2]}, {where}"


def _bundle_problems(report: Report, read: _Read, counted: Counter[str]) -> list[str]:
    """The Bundle holds as many rows as the log lists, and every row that names its audit entry
    names one the signed log lists, of the same kind. A Bundle checked on its own, unsigned,
    must name the entry for every row: nothing else binds its rows to the log."""
    assert report.bundle is not None
    rows = _bundle_rows(report.bundle)
    by_seq = {e.seq: e for e in read.entries}
    must_name = report.kind != "PDF" and not report.signature.present
    problems = []
    for kind, resources in rows.items():
        if len(resources) != counted[kind]:
            problems.append(
                f"the FHIR data holds {_count(len(resources), kind)}, the log lists "
                f"{counted[kind]:,}"
            )
        named = [_chain_entry(r) for r in resources]
        strangers = [
            item.seq
            for item in filter(None, named)
            if item.seq not in by_seq
            or not item.is_(by_seq[item.seq])
            or by_seq[item.seq].kind != kind
        ]
        if strangers:
            problems.append(
                f"the FHIR data's {_NOUNS[kind][1]} naming audit entry {_numbers(strangers)} "
                "do not match the entries the signed log lists"
            )
        if must_name and None in named:
            problems.append(f"some {_NOUNS[kind][1]} in the Bundle name no audit entry")
        if kind == "sessions":
            problems += _session_problems(report, read, resources)
        elif any(len(_chain_entries(r)) > 1 for r in resources):
            problems.append(f"some {_NOUNS[kind][1]} in the FHIR data name more than one entry")
    return problems


def _session_problems(report: Report, read: _Read, sessions: list[dict[str, Any]]) -> list[str]:
    """Each session's later entries (sections viewed, its close): each is in the signed log,
    listed in the evidence or proven by the inclusion proof the Bundle carries, and is about
    that session; the parts of the record the Bundle says were viewed are those the entries
    record; and every such entry the evidence lists is named. An entry after the period that
    the Bundle gives no proof for is accepted only in a signed document (a PDF report's
    attached Bundle): it is listed in the report of the period it falls in."""
    by_seq = {e.seq: e for e in read.entries}
    signed = report.kind == "PDF" or report.signature.present
    last_day = _day(_field(report.evidence, "period", dict).get("last_day"))
    unproven: list[int] = []
    strays: list[int] = []
    wrong_parts: list[int] = []
    named_later: set[int] = set()
    session_ids: set[Any] = set()
    for resource in sessions:
        first, *later = _chain_entries(resource) or [None]
        opened = by_seq.get(first.seq) if first else None
        if first is None or opened is None or not first.is_(opened):
            continue  # named no entry, or one the log does not list: reported above
        session = opened.details.get("session_id")
        session_ids.add(session)
        viewed: set[str] = set()
        whole = True
        for item in later:
            entry = _later_entry(item, by_seq, read.head, signed, last_day)
            if entry is None:
                unproven.append(item.seq if item else first.seq)
                whole = False
            elif (
                entry.value(7) not in _FOLLOW_UPS
                or entry.value(9) != "allowed"
                or entry.details.get("session_id") != session
            ):
                strays.append(entry.seq)
                whole = False
            else:
                named_later.add(entry.seq)
                if entry.value(7) == "record_sections_viewed":
                    viewed.update(str(x) for x in _list(entry.details.get("sections")))
        if whole and _sections(resource) != viewed:
            wrong_parts.append(first.seq)
    left_out = sorted(
        e.seq
        for e in read.entries
        if e.value(7) in _FOLLOW_UPS
        and e.details.get("session_id") in session_ids
        and e.seq not in named_later
    )
    problems = []
    if unproven:
        problems.append(
            f"the sections viewed or closes the FHIR data's access sessions name as audit entry "
            f"{_numbers(unproven)} are not in the signed log as given (changed, or not the home's)"
        )
    if strays:
        problems.append(
            f"audit entry {_numbers(strays)}, named by an access session in the FHIR data, is not "
            "that session's sections viewed or close"
        )
    if wrong_parts:
        problems.append(
            f"the parts of the record viewed that the FHIR data gives for the access session of "
            f"audit entry {_numbers(wrong_parts)} are not those its audit entries record"
        )
    if left_out:
        problems.append(
            f"the signed log lists audit entry {_numbers(left_out)} (sections viewed or a close of "
            "an access session in the FHIR data), which the FHIR data leaves out"
        )
    return problems


def _later_entry(
    item: _Named | None,
    by_seq: dict[int, Entry],
    head: SignedTreeHead | None,
    signed: bool,
    last_day: date,
) -> Entry | None:
    """A session's later entry as the Bundle gives it, if it is in the signed log: listed in
    the evidence with the same bytes, or proven by the inclusion proof the Bundle carries (or,
    in a signed document, made after the period)."""
    if item is None:
        return None
    listed = by_seq.get(item.seq)
    if listed is not None:
        return listed if item.is_(listed) else None
    if item.entry is None:
        return None  # named by number, but the evidence does not list it
    try:
        text = item.entry.decode("utf-8")
        fields = json.loads(text)
    except ValueError:
        return None
    if not isinstance(fields, list) or len(fields) != 12:
        return None
    entry = Entry(item.seq, text, fields)
    if item.proof is not None:
        return entry if head is not None and _included(entry, head, item.proof) else None
    after = entry.at is not None and entry.at.astimezone(UK).date() > last_day
    return entry if signed and after and fields[0] == item.seq else None


def _sections(resource: dict[str, Any]) -> set[str]:
    """The parts of the GP record an AuditEvent says were viewed (its section entities)."""
    found = set()
    for entity in _list(resource.get("entity")):
        what = entity.get("what") if isinstance(entity, dict) else None
        identifier = what.get("identifier") if isinstance(what, dict) else None
        if isinstance(identifier, dict) and identifier.get("system") == _SECTION_SYSTEM:
            found.add(str(identifier.get("value")))
    return found


# -- the previous report --------------------------------------------------------------------------


def _check_previous(checks: _Checks, old: Report, new: Report, read: _Read) -> _Read:
    """Check 7: the previous report as a document, then that this one follows it."""
    old_read = _Read()

    def document() -> tuple[bool, str]:
        if old.signature.problem:
            return False, f"{old.name}: {old.signature.problem}"
        old_read.certificate = _certificate_of(old.evidence)
        if old.signature.certificate is not None and old.signature.certificate != (
            old_read.certificate
        ):
            return False, f"{old.name} was signed with a key other than the one its data names"
        if read.certificate is None or not _same_key(old_read.certificate, read.certificate):
            return False, (
                f"{old.name} was signed with another key than this report: they are not "
                "from the same home's key"
            )
        ok, text = _check_contents(old)
        if not ok:
            return False, f"{old.name}: {text}"
        ok, text = _check_head(old, old_read)
        if not ok:
            return False, f"{old.name}: {text}"
        old_practice = _field(old.evidence, "practice", dict).get("ods_code")
        if old_practice != _field(new.evidence, "practice", dict).get("ods_code"):
            return False, f"{old.name} is a report for another practice ({old_practice})"
        assert old_read.head is not None
        return True, (
            f"{old.name} is intact and signed with the same key; its audit log had "
            f"{_head_words(old_read.head)}"
        )

    if checks.run("previous report", document):
        checks.run("log continues", lambda: _check_extends(new, read, old_read.head, old.name))
        since = old_read.head.head.at if old_read.head else None
        restored = since is not None and any(r.at and r.at >= since for r in read.restores)
        checks.run("numbers continue", lambda: _check_continuity(old, new, restored))
    return old_read


def _check_own_previous(checks: _Checks, report: Report, read: _Read) -> None:
    """Without --previous: the consistency proof the report carries from the head of the
    previous report sent to the practice still verifies, so the practice can check it against
    its copy of that report."""
    previous = report.evidence.get("previous")
    if previous is not None:
        checks.run("log continues", lambda: _check_extends(report, read, None, None))
    elif read.restores:
        checks.add("restores", True, _restore_words(read.restores, None))


def _check_extends(
    new: Report, read: _Read, old_head: SignedTreeHead | None, old_name: str | None
) -> tuple[bool, str]:
    previous = _field(new.evidence, "previous", (dict, type(None)))
    if previous is None:
        return False, (
            f"this report names no previous report, so it cannot be checked against {old_name}"
        )
    if read.head is None or read.certificate is None:
        return False, "cannot be checked without this report's signed tree head"
    named = _head(_field(previous, "tree_head", dict, "evidence.previous"), "previous.tree_head")
    if not signing.verify_signed_head(_public_key_pem(read.certificate), named):
        return False, "the previous tree head this report names is not signed by the home's key"
    if old_head is not None and (named.head.size, named.head.root) != (
        old_head.head.size,
        old_head.head.root,
    ):
        return False, (
            f"this report follows a report whose log had {_head_words(named)}, not "
            f"{old_name} ({_head_words(old_head)}): is {old_name} the last report the home "
            "sent you?"
        )
    proof = _hashes(_field(previous, "proof", list, "evidence.previous"), "previous.proof")
    old, new_head = named.head, read.head.head
    if merkle.verify_consistency(old.size, new_head.size, old.root, new_head.root, proof):
        restores = [r for r in read.restores if r.at and r.at >= old.at]
        text = (
            f"the home's log now ({new_head.size:,} entries) is the log behind the previous "
            f"report ({old.size:,} entries) with entries added after it: none of those was "
            "changed, removed or rolled back"
        )
        if old_name is None:
            text += "; run again with --previous OLD.pdf to check it against your copy"
        if restores:
            text += f". Note: {_restore_words(restores, old)}"
        return True, text
    restores = [r for r in read.restores if r.at and r.at >= old.at]
    if restores:
        return False, (
            f"{_restore_words(restores, old)} So the log behind this report does not simply "
            "extend the one behind the previous report"
        )
    if new_head.size < old.size:
        return False, (
            f"the home's log is shorter now ({new_head.size:,} entries) than at the previous "
            f"report ({old.size:,}): it was cut back or rolled back"
        )
    return False, (
        "the home's log behind this report does not extend the log behind the previous "
        "report: entries before the previous report's were changed or removed"
    )


def _restore_words(restores: Iterable[Entry], old: Any) -> str:
    """Each restore in plain words, from its entry's details."""
    sentences = []
    for entry in restores:
        details = entry.details
        who = entry.value(3) or "someone"
        by = details.get("by")
        backup_head = str(details.get("backup_head", ""))
        backup_seq = backup_head.split(":")[0] if ":" in backup_head else "?"
        replaced_head = str(details.get("replaced_head", ""))
        replaced_seq = replaced_head.split(":")[0] if ":" in replaced_head else None
        replaced = details.get("replaced_entries")
        at = entry.at
        sentence = (
            f"The home restored a backup{'' if at is None else ' on ' + _when(at)}: "
            f"{who}{f' (with the {by})' if by else ''} put back the copy "
            f"{details.get('backup', 'of the database')!s} whose log ended at entry {backup_seq}"
        )
        if replaced_seq and replaced_seq.isdigit():
            sentence += f", in place of a database whose log ended at entry {replaced_seq}"
            if isinstance(replaced, int):
                sentence += f" ({replaced:,} entries)"
        sentence += "; entries made after the backup was taken were removed from the log."
        if old is not None and backup_seq.isdigit() and int(backup_seq) < old.size:
            lost = old.size - int(backup_seq)
            sentence += (
                f" The previous report's log had {old.size:,} entries, so its last "
                f"{lost:,} (from entry {int(backup_seq) + 1}) are not in the log now."
            )
        sentences.append(sentence)
    return " ".join(sentences)


def _check_continuity(old: Report, new: Report, restored: bool = False) -> tuple[bool, str]:
    old_numbers = _field(old.evidence, "numbers", dict)
    new_numbers = _field(new.evidence, "numbers", dict)
    old_last, new_first = old_numbers.get("last"), new_numbers.get("first")
    old_end = _day(_field(old.evidence, "period", dict).get("last_day"))
    new_start = _day(_field(new.evidence, "period", dict).get("first_day"))
    if old_last is None or new_first is None:
        which = old.name if old_last is None else "this report"
        return True, (
            f"{which} lists no entry about your practice, so there are no running numbers to "
            "compare: the next report carries the check on"
        )
    if not isinstance(old_last, int) or not isinstance(new_first, int):
        raise Malformed("the running numbers are not whole numbers")
    expected = old_last + 1
    if new_start <= old_end and new_first <= expected:  # the periods overlap: a later copy
        return True, (
            f"the two periods overlap and this report's numbers ({new_first:,} on) take up "
            f"from the previous report's (up to {old_last:,}) with none missing between"
        )
    if new_first < expected:
        why = (
            "the backup the home restored (above) took the numbers back, and they were given again"
            if restored
            else "numbers were given twice, so the home's log was rolled back or rewritten "
            "between the two reports"
        )
        return False, (
            f"this report's numbers start at {new_first:,}, but the previous report already "
            f"reached {old_last:,}: {why}"
        )
    between = list(range(expected, new_first))
    day = timedelta(days=1)
    if new_start <= old_end + day:  # the periods meet (or overlap): no number may fall between
        if between:
            return False, _missing(between, between=True)
        return True, (
            f"the numbers run on from {old_last:,} in the previous report to {new_first:,} in "
            "this one: no entry about your practice is missing between the two reports"
        )
    gap = f"{_uk_day(old_end + day)} to {_uk_day(new_start - day)}"
    if not between:
        return True, (
            f"the numbers run on from {old_last:,} to {new_first:,}: no entry about your "
            f"practice was made in the days between the two periods ({gap})"
        )
    return True, (
        f"{len(between):,} numbered entries ({_numbers(between)}) were made in the days between "
        f"the two periods ({gap}), which neither report covers; ask the home for a report of "
        "those days to see them"
    )


# -- the conclusion -------------------------------------------------------------------------------


def _verdict(
    checks: _Checks,
    report: Report,
    read: _Read,
    fingerprint: str | None,
    old: Report | None,
    old_read: _Read | None,
) -> Verdict:
    evidence = report.evidence
    practice = evidence.get("practice") if isinstance(evidence.get("practice"), dict) else {}
    home = evidence.get("home") if isinstance(evidence.get("home"), dict) else {}
    period = evidence.get("period") if isinstance(evidence.get("period"), dict) else {}
    shown = (
        signing.fingerprint(read.certificate.public_key())  # type: ignore[arg-type]
        if read.certificate
        else None
    )
    ok = all(f.ok for f in checks.findings)
    problems = [f for f in checks.findings if not f.ok]
    if ok:
        sure = [
            "this document is exactly as the home signed it"
            if report.kind == "PDF" or report.signature.present
            else "every session, refusal and call in this Bundle is as the home's signed log "
            "recorded it",
            "every entry it lists is in the home's signed audit log, unchanged",
            "no entry about your practice between the first and last number it lists is missing",
        ]
        if old is not None:
            assert old_read is not None and old_read.head is not None
            sure += [
                f"nothing in the home's log up to your previous report ({old.name}, "
                f"{old_read.head.head.size:,} entries) was changed, removed or rolled back since",
                "no entry about your practice is missing between the two reports",
            ]
        conclusion = "Verdict: the report checks out. You can be sure that " + _and(sure) + "."
        if fingerprint is None:
            conclusion += (
                " This holds if the fingerprint above is the one on the authorised staff list "
                "the home gave you."
            )
        if old is None:
            conclusion += (
                " To be sure nothing earlier was changed, check it against the previous "
                "report the home sent you: --previous OLD.pdf."
            )
        conclusion += (
            " What no check can show yet: changes someone with the home's key makes to entries "
            "after this report was made; the next report, checked against this one, shows "
            "them, so ask for reports regularly."
        )
    else:
        restore_explained = any("restored a backup" in f.text for f in problems)
        conclusion = (
            f"Verdict: do not rely on this report: {len(problems)} check"
            f"{'' if len(problems) == 1 else 's'} failed ({', '.join(f.check for f in problems)})."
        )
        if restore_explained:
            conclusion += (
                " The home restored a backup between the two reports (see above): ask the "
                "home's manager what was lost and for a report of the missing days."
            )
        else:
            conclusion += " Ask the home's manager about it before relying on what it shows."
    head = read.head.head if read.head else None
    facts: dict[str, Any] = {
        "about": (
            f"Checking {report.name} ({report.kind}): GP access report from "
            f"{home.get('name', '?')} for {practice.get('name', '?')} "
            f"({practice.get('ods_code', '?')}), {_shown_day(period.get('first_day'))} to "
            f"{_shown_day(period.get('last_day'))}"
        ),
        "document": str(report.path),
        "kind": report.kind,
        "home": {"name": home.get("name"), "home_id": home.get("home_id")},
        "practice": {"ods_code": practice.get("ods_code"), "name": practice.get("name")},
        "period": {"first_day": period.get("first_day"), "last_day": period.get("last_day")},
        "fingerprint": shown,
        "fingerprint_given": fingerprint is not None,
        "tree_head": _head_json(head),
        "numbers": evidence.get("numbers"),
        "totals": evidence.get("totals"),
        "previous": None
        if old is None
        else {
            "document": str(old.path),
            "tree_head": _head_json(old_read.head.head if old_read and old_read.head else None),
            "numbers": old.evidence.get("numbers"),
        },
        "restores": [
            {"seq": r.seq, "at": r.value(1), "by": r.value(3), **r.details} for r in read.restores
        ],
    }
    return Verdict(report, checks.findings, conclusion, facts)


def _head_json(head: signing.TreeHead | None) -> dict[str, Any] | None:
    if head is None:
        return None
    return {
        "size": head.size,
        "root": head.root.hex(),
        "time": head.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{'; '.join(parts[:-1])}; and {parts[-1]}"
