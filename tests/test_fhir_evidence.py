"""A FHIR export for one GP practice is a document the practice checks with `check-report`, as it
checks a signed PDF report: it carries the same evidence (signed tree head, every entry about the
practice in the period with its inclusion proof, running numbers, the consistency proof from the
previous report or export) and a Bundle.signature by the home's key; every session names all the
audit entries that recorded it (opened, sections viewed, closed). A home is built through the
services; tampering is done on the exported file, as anyone holding it could."""

import base64
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from carehome_share import check, cli
from carehome_share.domain.evidence import EVIDENCE_FORMAT
from carehome_share.interop.fhir import (
    CHAIN_EXTENSION,
    bundle,
    encode,
    encoded_in_pieces,
    write_bundle,
)
from carehome_share.reports.access_report import write_access_report
from carehome_share.services import access, fhir_export, reports
from carehome_share.store import audit, signing
from carehome_share.store.files import atomic_output
from tests.conftest import Clock
from tests.factories import ODS, Home, play_november
from tests.test_fhir import assert_valid_r4

SESSION_ACTIONS = ["open_access_session", "record_sections_viewed", "close_access_session"]


class Story:
    """November: a session with sections viewed and closed, one left open and closed
    automatically, a refusal and the call made instead; a session open over the night the
    month ends, closed on 1 December. In December, one more session."""

    def __init__(self, home: Home, clock: Clock) -> None:
        self.home, self.clock = home, clock
        ctx = home.ctx
        played = play_november(home, clock)
        self.nurse, self.alice, self.bob = played.nurse, played.alice, played.bob
        access.log_gp_contact(
            ctx,
            self.alice.id,
            "Practice nurse",
            "Dose query",
            "Confirmed",
            played.refusal_id,
        )
        clock.set("2026-11-30T23:50:00")  # UK time is UTC in winter
        self.night = access.open_access_session(
            ctx, self.bob.id, "clinical_assessment", "Bob: night check after a fall"
        )
        access.record_sections_viewed(ctx, self.night.id, ["summary"])
        clock.set("2026-12-01T00:10:00")
        access.record_sections_viewed(ctx, self.night.id, ["problems"])
        access.close_access_session(ctx, self.night.id)

    def december(self) -> None:
        self.clock.set("2026-12-02T11:00:00")
        self.home.log_in(self.nurse)
        session = access.open_access_session(
            self.home.ctx, self.bob.id, "care_plan_review", "Bob: December care plan review"
        )
        access.close_access_session(self.home.ctx, session.id)

    def export(self, first: str, last: str, at: str, ods: str | None = ODS) -> dict[str, Any]:
        self.clock.set(at)
        self.home.as_manager()
        out = io.BytesIO()
        fhir_export.export_fhir(self.home.ctx, first, last, ods, lambda e: write_bundle(e, out))
        return json.loads(out.getvalue())

    def report(self, first: str, last: str, at: str, path: Path) -> Path:
        self.clock.set(at)
        self.home.as_manager()
        with atomic_output(path) as out:
            reports.gp_access_report(
                self.home.ctx, ODS, first, last, lambda r: write_access_report(r, out)
            )
        return path

    @property
    def fingerprint(self) -> str:
        return signing.SigningKey.of(self.home.ctx.vault).fingerprint


@pytest.fixture
def story(home: Home, clock: Clock) -> Story:
    return Story(home, clock)


@pytest.fixture
def november(story: Story) -> dict[str, Any]:
    return story.export("2026-11-01", "2026-11-30", "2026-12-01T09:00:00")


def run_check(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    code = cli.run(["check-report", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def checks_of(output: str) -> dict[str, str]:
    """check name -> "OK" or "PROBLEM", from the verdict's lines."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(": ")
        if status in ("OK", "PROBLEM"):
            found[rest.split(": ", 1)[0]] = status
    return found


def save(bundle: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def evidence_of(bundle: dict[str, Any]) -> dict[str, Any]:
    (extension,) = bundle["meta"]["extension"]
    assert extension["url"] == check.EVIDENCE_EXTENSION
    return json.loads(base64.b64decode(extension["valueAttachment"]["data"]))


def sessions_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "AuditEvent" and e["resource"]["action"] == "R"
    ]


def chain_of(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Each audit-chain-entry extension as {part url: value}, in order."""
    return [
        {p["url"]: next(v for k, v in p.items() if k.startswith("value")) for p in x["extension"]}
        for x in resource.get("extension", [])
        if x["url"] == CHAIN_EXTENSION
    ]


def text_of(part: dict[str, Any], bundle: dict[str, Any]) -> str:
    """The entry a chain part names: its bytes, or the evidence's listing of its number."""
    if "entry" in part:
        return base64.b64decode(part["entry"]).decode()
    (listed,) = [e["entry"] for e in evidence_of(bundle)["entries"] if e["seq"] == part["sequence"]]
    return listed


def fields_of(part: dict[str, Any], bundle: dict[str, Any]) -> list[Any]:
    return json.loads(text_of(part, bundle))


def unsigned(bundle: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in bundle.items() if k != "signature"}


# -- what the export carries ----------------------------------------------------------------------


def test_an_export_for_one_practice_carries_the_report_evidence_and_is_signed(
    story: Story, november: dict[str, Any]
) -> None:
    assert_valid_r4(november)  # the evidence on Bundle.meta and the signature are valid R4
    evidence = evidence_of(november)
    assert evidence["format"] == EVIDENCE_FORMAT
    assert evidence["practice"]["ods_code"] == ODS
    assert evidence["period"] == {"first_day": "2026-11-01", "last_day": "2026-11-30"}
    assert evidence["totals"] == {"sessions": 3, "refusals": 1, "contacts": 1}
    assert evidence["previous"] is None
    numbers = evidence["numbers"]
    assert numbers["last"] - numbers["first"] + 1 == len(evidence["entries"])
    signature = november["signature"]
    assert signature["sigFormat"] == check.BUNDLE_SIGNATURE_FORMAT
    assert signature["type"][0]["code"] == "1.2.840.10065.1.12.1.14"  # source signature
    assert check._bundle_signature(november).problem is None

    # the export's audit entry records the signed head, as a report's print entry does
    entry = audit.entries(story.home.ctx.conn, last=1)[0]
    assert (entry.action, entry.details["document"]) == ("export_fhir", "fhir_bundle")
    assert entry.details["tree_head"] == evidence["tree_head"]
    assert entry.details["numbers"] == numbers


def test_the_bundle_a_report_attaches_is_made_in_pieces_to_the_same_bytes(story: Story) -> None:
    """A report compresses its Bundle as it is made, entry by entry (a care group's year would
    not fit in memory whole): the pieces joined are the Bundle's bytes."""
    story.clock.set("2026-12-01T09:00:00")
    story.home.as_manager()

    def both(export: fhir_export.FhirExport) -> tuple[bytes, list[bytes]]:
        whole = encode(bundle(export, beside=export.evidence))
        return whole, list(encoded_in_pieces(export, export.evidence, piece=2_000))

    whole, pieces = fhir_export.export_fhir(story.home.ctx, "2026-11-01", "2026-11-30", ODS, both)
    assert len(pieces) > 2 and b"".join(pieces) == whole
    assert len(json.loads(whole)["entry"]) > 5


def test_every_session_names_its_opening_sections_viewed_and_close(
    november: dict[str, Any],
) -> None:
    by_why = {s["entity"][0]["detail"][0]["valueString"]: s for s in sessions_of(november)}
    assert len(by_why) == 3

    def actions(why: str) -> list[str]:
        return [fields_of(part, november)[7] for part in chain_of(by_why[why])]

    assert actions("Alice: checking the warfarin dose") == SESSION_ACTIONS
    assert actions("Bob: left open after a fall") == ["open_access_session", "auto_close_session"]
    opened, viewed, closed = SESSION_ACTIONS
    assert actions("Bob: night check after a fall") == [opened, viewed, viewed, closed]
    chain = chain_of(by_why["Bob: night check after a fall"])
    # the entries made on 1 December are not in November's evidence: they carry their bytes and
    # their proof; those it lists are named by number only
    listed = {e["seq"] for e in evidence_of(november)["entries"]}
    for part in chain:
        made = fields_of(part, november)[1]
        assert (part["sequence"] in listed) == made.startswith("2026-11-30")
        assert ("inclusionProof" in part) == made.startswith("2026-12-01")
        assert ("entry" in part) == made.startswith("2026-12-01")
    for resource in sessions_of(november):
        first, *_rest = chain_of(resource)
        assert "inclusionProof" not in first


def test_an_export_of_every_practice_carries_no_evidence(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    every = story.export("2026-11-01", "2026-11-30", "2026-12-01T09:00:00", ods=None)
    assert_valid_r4(every)
    assert "signature" not in every and "extension" not in every["meta"]
    # every session's entries are carried all the same
    assert all(len(chain_of(s)) > 1 for s in sessions_of(every))
    entry = audit.entries(story.home.ctx.conn, last=1)[0]
    assert entry.action == "export_fhir" and "tree_head" not in entry.details
    code, out = run_check(capsys, save(every, tmp_path / "every.json"))
    assert code == 2 and "without report evidence" in out


# -- check-report on an export --------------------------------------------------------------------


def test_check_report_passes_on_a_real_export(
    story: Story, november: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save(november, tmp_path / "november.json")
    code, out = run_check(capsys, path, "--fingerprint", story.fingerprint)
    assert code == 0, out
    assert "(FHIR Bundle)" in out
    assert "OK: signature: the document is exactly as it was signed" in out
    assert "OK: totals: 3 access sessions, 1 refused attempt and 1 call to the practice" in out
    assert set(checks_of(out).values()) == {"OK"}, out
    # unsigned, every row is still checked entry by entry against the signed log
    code, out = run_check(capsys, save(unsigned(november), tmp_path / "unsigned.json"))
    assert code == 0, out
    assert "carries no document signature" in out


def test_an_audit_event_removed_fails(
    november: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = copy.deepcopy(november)
    removed = sessions_of(gone)[0]
    gone["entry"] = [e for e in gone["entry"] if e["resource"] is not removed]
    code, out = run_check(capsys, save(gone, tmp_path / "gone.json"))
    assert code == 1
    assert "PROBLEM: signature: the Bundle was changed after it was signed" in out
    assert "the FHIR data holds 2 access sessions, the log lists 3" in out
    code, out = run_check(capsys, save(unsigned(gone), tmp_path / "gone-unsigned.json"))
    assert code == 1
    assert "PROBLEM: totals: the FHIR data holds 2 access sessions, the log lists 3" in out


@pytest.mark.parametrize(
    "which", [0, 1, 2, -1], ids=["opened", "viewed", "viewed-next-day", "closed"]
)
def test_one_entry_s_bytes_edited_fails(
    november: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    which: int,
) -> None:
    """An entry edited inside the export (here: who did it), whether the evidence lists it (the
    row names it by number: the forger gives the row edited bytes of its own) or the Bundle
    carries its bytes and its own inclusion proof."""
    for sign in (True, False):
        edited = copy.deepcopy(november if sign else unsigned(november))
        night = next(s for s in sessions_of(edited) if len(chain_of(s)) == 4)
        extension = [x for x in night["extension"] if x["url"] == CHAIN_EXTENSION][which]
        text = text_of(chain_of({"extension": [extension]})[0], edited)
        changed = text.replace("Staff Member", "Staff Memper", 1)
        assert changed != text
        parts = [p for p in extension["extension"] if p["url"] != "entry"]
        encoded = base64.b64encode(changed.encode()).decode()
        extension["extension"] = [*parts, {"url": "entry", "valueBase64Binary": encoded}]
        code, out = run_check(capsys, save(edited, tmp_path / "edited.json"))
        assert code == 1, out
        seq = json.loads(changed)[0]
        checks = checks_of(out)
        if sign:
            assert "PROBLEM: signature: the Bundle was changed after it was signed" in out
            assert checks.pop("signature") == "PROBLEM"
        assert checks.pop("totals") == "PROBLEM"
        assert set(checks.values()) == {"OK"}, out
        if which == 0:
            assert f"access sessions naming audit entry {seq} do not match" in out
        else:
            assert f"name as audit entry {seq} are not in the signed log as given" in out


def test_an_entry_the_evidence_does_not_list_cannot_be_named_by_number_alone(
    november: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only entries the evidence lists may go without their bytes: one made the next morning,
    its bytes taken out, is not accepted on its number."""
    bundle = unsigned(november)
    night = next(s for s in sessions_of(bundle) if len(chain_of(s)) == 4)
    extension = [x for x in night["extension"] if x["url"] == CHAIN_EXTENSION][-1]
    extension["extension"] = [p for p in extension["extension"] if p["url"] != "entry"]
    seq = chain_of({"extension": [extension]})[0]["sequence"]
    code, out = run_check(capsys, save(bundle, tmp_path / "unnamed.json"))
    assert code == 1
    assert f"name as audit entry {seq} are not in the signed log as given" in out


def test_a_session_s_later_entries_must_all_be_named_and_agree(
    november: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = unsigned(november)

    def alice(b: dict[str, Any]) -> dict[str, Any]:
        return next(s for s in sessions_of(b) if "warfarin" in json.dumps(s))

    # the sections-viewed entry left out of the session
    dropped = copy.deepcopy(bundle)
    session = alice(dropped)
    viewed = session["extension"].pop(1)
    seq = next(p["valueInteger"] for p in viewed["extension"] if p["url"] == "sequence")
    code, out = run_check(capsys, save(dropped, tmp_path / "dropped.json"))
    assert code == 1
    assert f"the signed log lists audit entry {seq} (sections viewed or a close" in out

    # a section the nurse did not look at, added to what the export says was viewed
    widened = copy.deepcopy(bundle)
    session = alice(widened)
    section = [e for e in session["entity"] if e["role"]["code"] == "4"][-1]
    session["entity"].append({**section, "name": "Problems"})
    session["entity"][-1]["what"] = {
        "identifier": {**section["what"]["identifier"], "value": "problems"}
    }
    code, out = run_check(capsys, save(widened, tmp_path / "widened.json"))
    assert code == 1
    assert "the parts of the record viewed that the FHIR data gives for the access session" in out

    # another session's close named as this one's
    swapped = copy.deepcopy(bundle)
    other = next(s for s in sessions_of(swapped) if "left open" in json.dumps(s))
    alice(swapped)["extension"][-1] = copy.deepcopy(other["extension"][-1])
    code, out = run_check(capsys, save(swapped, tmp_path / "swapped.json"))
    assert code == 1
    assert "is not that session's sections viewed or close" in out

    # an inclusion proof that does not prove the entry
    broken = copy.deepcopy(bundle)
    night = next(s for s in sessions_of(broken) if len(chain_of(s)) == 4)
    proof = next(p for p in night["extension"][-1]["extension"] if p["url"] == "inclusionProof")
    raw = bytearray(base64.b64decode(proof["valueBase64Binary"]))
    raw[0] ^= 1
    proof["valueBase64Binary"] = base64.b64encode(bytes(raw)).decode()
    code, out = run_check(capsys, save(broken, tmp_path / "broken.json"))
    assert code == 1
    assert "are not in the signed log as given" in out


def test_the_report_of_the_same_period_passes_with_a_close_after_it(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The PDF report's attached Bundle names the entries of 1 December too: the signature of
    the PDF covers them, and December's report lists them."""
    path = story.report("2026-11-01", "2026-11-30", "2026-12-01T09:00:00", tmp_path / "nov.pdf")
    code, out = run_check(capsys, path, "--fingerprint", story.fingerprint)
    assert code == 0, out


# -- reports and exports follow one another -------------------------------------------------------


def test_reports_and_exports_to_a_practice_follow_one_another(
    story: Story, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    november = story.report("2026-11-01", "2026-11-30", "2026-12-01T09:00:00", tmp_path / "n.pdf")
    story.december()
    december = save(
        story.export("2026-12-01", "2026-12-31", "2027-01-01T09:00:00"), tmp_path / "d.json"
    )
    code, out = run_check(
        capsys, december, "--previous", november, "--fingerprint", story.fingerprint
    )
    assert code == 0, out
    checks = checks_of(out)
    assert list(checks)[-3:] == ["previous report", "log continues", "numbers continue"]
    assert set(checks.values()) == {"OK"}, out

    # the next report follows the export: its evidence names the export's head
    story.clock.set("2027-01-05T10:00:00")
    story.home.log_in(story.nurse)
    access.open_access_session(story.home.ctx, story.bob.id, "medication_check", "Bob: new dose")
    january = story.report("2027-01-01", "2027-01-31", "2027-02-01T09:00:00", tmp_path / "j.pdf")
    code, out = run_check(
        capsys, january, "--previous", december, "--fingerprint", story.fingerprint
    )
    assert code == 0, out
    assert set(checks_of(out).values()) == {"OK"}, out
    # checked against the November report instead, it shows it does not follow that one
    code, out = run_check(capsys, january, "--previous", november)
    assert code == 1
    assert "is n.pdf the last report the home sent you?" in out
