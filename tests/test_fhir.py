"""The FHIR R4 export: every resource parses with the fhir.resources R4B models (R4B changed
nothing in Consent, AuditEvent, Communication, Patient or Organization), an export of a demo
home holds exactly the consents, sessions, refusals and calls of the period, each audit event
can be checked against the hash chain from the export alone, and the export is a disclosure
only a manager may make, recorded in the audit log."""

import base64
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from carehome_share import check, cli, demo
from carehome_share.domain.errors import AccessRefused, PermissionDenied
from carehome_share.domain.validation import day_start
from carehome_share.interop.fhir import (
    CHAIN_EXTENSION,
    CHAIN_HEAD_SYSTEM,
    CQC_LOCATION,
    ENDED_EXTENSION,
    NHS_NUMBER,
    NMC_PIN,
    ODS_CODE,
    REASON_EXTENSION,
    REFUSAL_REASON_EXTENSION,
    REFUSAL_REASON_SYSTEM,
    full_url,
    write_bundle,
)
from carehome_share.services import access, auth, consent, fhir_export, settings
from carehome_share.services.context import Context
from carehome_share.store import audit
from carehome_share.store.audit import format_time
from carehome_share.store.vault import Vault
from tests.factories import ODS, Home
from tests.fhir_r4 import r4_errors

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
FIRST, LAST = "2025-06-01", "2026-10-31"
# the instants the UK days span, as stored (the period starts in summer time)
START, END = format_time(day_start(date(2025, 6, 1))), format_time(day_start(date(2026, 11, 1)))


def export(ctx: Context, first: str, last: str, ods_code: str | None = None) -> dict[str, Any]:
    out = io.BytesIO()
    fhir_export.export_fhir(ctx, first, last, ods_code, lambda e: write_bundle(e, out))
    return json.loads(out.getvalue())


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def urls(bundle: dict[str, Any], kind: str) -> set[str]:
    return {e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind}


def assert_valid_r4(bundle: dict[str, Any]) -> None:
    """The Bundle meets the official R4 JSON schema, every invariant and every required code
    binding (tests/fhir_r4.py); every resource parses with the R4B models; every urn:uuid
    reference resolves."""
    assert r4_errors(bundle) == []
    get_fhir_model_class("Bundle").model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(full_urls) == len(set(full_urls))
    assert all(u.startswith("urn:uuid:") for u in full_urls)
    text = json.dumps(bundle)
    referenced = {part.split('"')[0] for part in text.split('"reference": "')[1:]}
    assert {r for r in referenced if not r.startswith("#")} <= set(full_urls)


@dataclass
class Demo:
    ctx: Context
    path: Path

    def ids(self, sql: str, *params: object) -> set[int]:
        return {row[0] for row in self.ctx.conn.execute(sql, params)}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    vault, _code = Vault.create(path, purpose="demo")
    ctx = Context(vault, clock=lambda: NOW, workstation="office")
    demo.generate(ctx, residents=40, sessions=800, seed=3)
    auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
    yield Demo(ctx, path)
    vault.close()


@pytest.fixture(scope="module")
def bundle(home: Demo) -> dict[str, Any]:
    return export(home.ctx, FIRST, LAST)


def test_every_resource_of_a_demo_export_parses_as_fhir_r4(bundle: dict[str, Any]) -> None:
    assert bundle["type"] == "collection"
    assert_valid_r4(bundle)
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert set(kinds) == {
        "Organization",
        "Patient",
        "Contract",
        "Consent",
        "AuditEvent",
        "Communication",
    }


def test_the_export_holds_the_period_and_nothing_outside_it(
    home: Demo, bundle: dict[str, Any]
) -> None:
    consents = home.ids(
        "SELECT id FROM consent_decision WHERE decided_on BETWEEN ? AND ?", FIRST, LAST
    )
    sessions = home.ids(
        "SELECT id FROM access_session WHERE opened_at >= ? AND opened_at < ?", START, END
    )
    refusals = home.ids("SELECT id FROM access_refusal WHERE at >= ? AND at < ?", START, END)
    calls = home.ids("SELECT id FROM gp_contact WHERE at >= ? AND at < ?", START, END)
    assert consents and sessions and refusals and calls
    # the demo has history on both sides of the period, which must be left out
    assert home.ids("SELECT id FROM access_session") - sessions
    assert home.ids("SELECT id FROM consent_decision") - consents

    # and the decisions the period's sessions and refusals relied on, made before it
    relied_on = home.ids(
        "SELECT consent_id FROM access_session WHERE opened_at >= ? AND opened_at < ? "
        "UNION SELECT consent_id FROM access_refusal WHERE at >= ? AND at < ?",
        START,
        END,
        START,
        END,
    ) - {None}
    assert relied_on - consents
    assert urls(bundle, "Consent") == {full_url("Consent", i) for i in consents | relied_on}
    assert urls(bundle, "AuditEvent") == {
        *(full_url("AuditEvent", f"session/{i}") for i in sessions),
        *(full_url("AuditEvent", f"refusal/{i}") for i in refusals),
    }
    assert urls(bundle, "Communication") == {full_url("Communication", i) for i in calls}
    events = Counter(e["action"] for e in resources(bundle, "AuditEvent"))
    assert events == {"R": len(sessions), "E": len(refusals)}


def test_required_fields_are_present(bundle: dict[str, Any]) -> None:
    for c in resources(bundle, "Consent"):
        assert c["status"] in {"active", "inactive"}
        assert c["scope"]["coding"][0]["code"] == "patient-privacy"
        assert c["patient"]["identifier"]["system"] == NHS_NUMBER
        assert c["performer"] and c["organization"] and c["dateTime"] and c["policyRule"]
        assert c["provision"]["type"] in {"permit", "deny"}
        assert "code" not in c["provision"]  # reasons are words, in their own extension
        practice = c["provision"]["actor"][0]["reference"]["identifier"]
        assert practice["system"] == ODS_CODE
    for e in resources(bundle, "AuditEvent"):
        agent, client, server = e["agent"]
        assert agent["requestor"] is True and agent["name"] and agent["purposeOfUse"]
        assert client["type"]["coding"][0]["code"] == "110153" and client["who"]["display"]
        assert server["type"]["coding"][0]["code"] == "110152"
        assert server["who"]["identifier"]["system"] == ODS_CODE
        assert e["source"]["site"] and e["entity"][0]["what"]["identifier"]["system"] == NHS_NUMBER
        if e["action"] == "R":
            assert (e["type"]["code"], e["subtype"][0]["code"], e["outcome"]) == (
                "rest",
                "read",
                "0",
            )
            assert agent["who"]["identifier"]["system"] == NMC_PIN
            assert e["meta"]["profile"] == [
                "https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"
            ]
        else:
            assert (e["type"]["code"], e["subtype"][0]["code"], e["outcome"]) == (
                "110113",
                "110132",
                "8",
            )
            assert e["outcomeDesc"].startswith("Refused: ")
    for p in resources(bundle, "Patient"):
        value = p["identifier"][0]["value"]
        assert p["identifier"][0]["system"] == NHS_NUMBER and value.startswith("999")


def chain_parts(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource's audit-chain-entry extensions, each as {part url: value}, in order."""
    return [
        {
            x["url"]: next(v for k, v in x.items() if k.startswith("value"))
            for x in chain["extension"]
        }
        for chain in resource.get("extension", [])
        if chain["url"] == CHAIN_EXTENSION
    ]


def test_each_audit_event_can_be_checked_against_the_chain_from_the_export_alone(
    home: Demo, bundle: dict[str, Any]
) -> None:
    follow_ups: dict[int, set[int]] = {}  # session id -> the entries after its opening
    for seq, details in home.ctx.conn.execute(
        "SELECT seq, details FROM audit_log WHERE action IN ('record_sections_viewed', "
        "'close_access_session', 'auto_close_session')"
    ):
        follow_ups.setdefault(json.loads(details)["session_id"], set()).add(seq)
    checked = 0
    followed: Counter[str] = Counter()
    for resource in resources(bundle, "AuditEvent") + resources(bundle, "Communication"):
        chain = chain_parts(resource)
        assert chain
        fields = []
        for part in chain:
            entry = base64.b64decode(part["entry"])
            digest = hashlib.sha256(part["previousHash"].encode() + entry).hexdigest()
            assert digest == part["hash"]
            assert json.loads(entry)[0] == part["sequence"]
            stored = home.ctx.conn.execute(
                "SELECT hash FROM audit_log WHERE seq = ?", (part["sequence"],)
            ).fetchone()
            assert stored == (part["hash"],)
            fields.append(json.loads(entry))
            checked += 1
        seqs = [f[0] for f in fields]
        assert seqs == sorted(set(seqs))
        first, *rest = fields
        if resource.get("action") == "R":  # a session: opened, sections viewed, closed
            assert (first[7], first[9]) == ("open_access_session", "allowed")
            session = json.loads(first[11])["session_id"]
            assert {json.loads(f[11])["session_id"] for f in rest} <= {session}
            assert set(seqs[1:]) == follow_ups.get(session, set())
            followed.update(f[7] for f in rest)
        else:
            assert rest == []
            assert first[7] in {"open_access_session", "log_gp_contact"}
    assert checked > 0
    # the demo's sessions have their sections viewed, and close by hand or automatically
    assert set(followed) == {"record_sections_viewed", "close_access_session", "auto_close_session"}
    system, value = bundle["identifier"]["system"], bundle["identifier"]["value"]
    seq, digest = value.split(":")
    assert system == CHAIN_HEAD_SYSTEM
    assert audit.verify(home.ctx.vault, (int(seq), digest)).ok


def test_the_export_is_recorded_as_a_disclosure(home: Demo) -> None:
    before = audit.head(home.ctx.conn)
    bundle = export(home.ctx, FIRST, LAST)
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome, entry.actor_role) == ("export_fhir", "allowed", "manager")
    assert (entry.details["head_seq"], entry.details["head_hash"]) == before
    assert entry.details["sessions"] == len(
        [e for e in resources(bundle, "AuditEvent") if e["action"] == "R"]
    )
    assert bundle["identifier"]["value"] == f"{before[0]}:{before[1]}"


def test_an_ods_code_keeps_one_practice(home: Demo) -> None:
    practice_id, ods_code = home.ctx.conn.execute(
        "SELECT p.id, p.ods_code FROM access_session a JOIN practice p ON p.id = a.practice_id "
        "GROUP BY p.id, p.ods_code ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    one = export(home.ctx, FIRST, LAST, ods_code)
    assert_valid_r4(one)
    sessions = home.ids(
        "SELECT id FROM access_session WHERE practice_id = ? AND opened_at >= ? AND opened_at < ?",
        practice_id,
        START,
        END,
    )
    # the practice's residents' decisions of the period, and those its sessions relied on
    consents = home.ids(
        "SELECT c.id FROM consent_decision c JOIN resident r ON r.id = c.resident_id "
        "WHERE r.practice_id = ? AND c.decided_on BETWEEN ? AND ? "
        "UNION SELECT consent_id FROM access_session "
        "WHERE practice_id = ? AND opened_at >= ? AND opened_at < ? "
        "UNION SELECT consent_id FROM access_refusal WHERE practice_id = ? AND at >= ? AND at < ?",
        practice_id,
        FIRST,
        LAST,
        *(practice_id, START, END) * 2,
    ) - {None}
    assert {e["action"] for e in resources(one, "AuditEvent")} >= {"R"}
    assert len([e for e in resources(one, "AuditEvent") if e["action"] == "R"]) == len(sessions)
    assert urls(one, "Consent") == {full_url("Consent", i) for i in consents}
    organisations = resources(one, "Organization")
    assert [o["identifier"][0]["value"] for o in organisations if "identifier" in o] == [ods_code]


def test_a_one_practice_export_of_the_demo_checks_out(home: Demo, tmp_path: Path) -> None:
    """The demo's sessions are written by its batched writer, not the services: their entries,
    sections viewed, closes (by hand and automatic) and numbers check out all the same."""
    (ods_code,) = home.ctx.conn.execute("SELECT ods_code FROM practice LIMIT 1").fetchone()
    one = export(home.ctx, FIRST, LAST, ods_code)
    assert "signature" in one and one["meta"]["extension"]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one))
    verdict = check.check_report(path)
    assert verdict.ok, verdict.text()
    assert verdict.facts["kind"] == "FHIR Bundle"


def test_a_carer_may_not_export_and_the_refusal_is_audited(home: Demo) -> None:
    carer = Context(home.ctx.vault, clock=lambda: NOW, workstation="office")
    auth.log_in(carer, "carer.jo", demo.DEMO_PASSWORD)
    with pytest.raises(PermissionDenied, match="export fhir is for the registered manager"):
        export(carer, FIRST, LAST)
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome, entry.actor_username) == (
        "export_fhir",
        "denied",
        "carer.jo",
    )


def test_the_command_line_writes_the_file_whole(
    home: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    home.ctx.vault.enrol_this_computer()  # this test's fresh keychain gets the device secret
    monkeypatch.setenv(cli.ENV_PASSWORD, demo.DEMO_PASSWORD)
    out = tmp_path / "audit.json"
    args = ["--db", str(home.path), "export", "fhir", "--from", FIRST, "--to", LAST]
    assert cli.run([*args, "--user", "manager", "--out", str(out)]) == 0, capsys.readouterr().err
    assert f"Wrote {out}" in capsys.readouterr().out
    assert_valid_r4(json.loads(out.read_bytes()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]

    # refused, or failing on bad input: no file, and no temporary file left behind
    refused = tmp_path / "refused.json"
    assert cli.run([*args, "--user", "carer.jo", "--out", str(refused)]) == cli.EXIT_REFUSED
    assert cli.run([*args, "--user", "manager", "--ods-code", "Z99999", "--out", str(refused)]) == (
        cli.EXIT_INPUT
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json"]


# -- the mapping of each kind of decision and event, on a small home ---------------------------


def test_consent_decisions_map_to_status_performer_and_provision(home_small: Home) -> None:
    h = home_small
    by_resident = h.add_resident(consent_by=None)
    consent.record_consent(
        h.ctx,
        by_resident.id,
        "granted",
        "resident",
        decided_on="2026-11-01",
        expires_on="2027-11-01",
    )
    attorney = h.add_resident(consent_by=None)
    h.attorney_consent(attorney)
    best = h.add_resident(consent_by="best_interests")
    withdrawn = h.add_resident()
    consent.record_consent(
        h.ctx, withdrawn.id, "withdrawn", "resident", decided_on="2026-11-10", reason="Changed mind"
    )
    bundle = export(h.ctx, "2026-11-01", "2026-11-21")
    assert_valid_r4(bundle)
    by_patient: dict[str, list[dict[str, Any]]] = {}
    for c in resources(bundle, "Consent"):
        by_patient.setdefault(c["patient"]["identifier"]["value"], []).append(c)

    (own,) = by_patient[by_resident.nhs_number]
    assert own["status"] == "active" and own["provision"]["type"] == "permit"
    assert own["performer"][0]["reference"] == full_url("Patient", by_resident.nhs_number)
    assert own["provision"]["period"] == {"start": "2026-11-01", "end": "2027-11-01"}
    purposes = {p["code"] for p in own["provision"]["purpose"]}
    assert purposes == {"medication_check", "clinical_assessment", "care_plan_review"}
    assert own["provision"]["actor"][0]["reference"]["identifier"]["value"] == ODS

    (lpa,) = by_patient[attorney.nhs_number]
    (person,) = lpa["contained"]
    assert person["resourceType"] == "RelatedPerson"
    assert person["identifier"][0]["value"] == "LPA-7000-1234-5678"
    assert person["relationship"][0]["coding"][0]["code"] == "HPOWATT"
    assert person["relationship"][1]["text"] == "daughter"
    assert person["identifier"][0]["period"] == {"start": "2024-03-15"}  # the LPA registered
    assert lpa["performer"][0]["reference"] == "#decision-maker"
    assessed = lpa["extension"][0]["extension"]
    assert [x["valueCode"] for x in assessed if x["url"] == "unableTo"] == ["understand", "weigh"]
    parts = {x["url"]: next(v for k, v in x.items() if k.startswith("value")) for x in assessed}
    assert parts["impairment"] is True and parts["impairmentDetail"] == "Alzheimer's disease"
    assert parts["supportSteps"] == "Explained twice, in the morning, with a picture leaflet"
    assert parts["assessedBy"] == "Nina Nurse, registered nurse"
    assert parts["authoritySeenOn"] == "2026-11-03"
    assert parts["authoritySeenBy"] == "Mary Manager, registered manager"

    (interests,) = by_patient[best.nhs_number]
    assert interests["contained"][0]["resourceType"] == "Practitioner"
    capacity = {x["url"]: x for x in interests["extension"][0]["extension"]}
    assert capacity["decidedBy"]["valueCode"] == "best_interests"
    assert "best-interests" in capacity["authority"]["valueString"]
    assert capacity["peopleConsulted"]["valueString"] == "Daughter; GP; named nurse"
    assert capacity["knownWishes"]["valueString"].startswith("Always wanted the nurses")

    granted, withdrawal = by_patient[withdrawn.nhs_number]
    assert granted["status"] == "inactive"  # replaced by the withdrawal, which it records
    (ended,) = [x["extension"] for x in granted["extension"] if x["url"] == ENDED_EXTENSION]
    assert ended == [
        {"url": "by", "valueCode": "withdrawn"},
        {"url": "on", "valueDate": "2026-11-10"},
    ]
    # a standing withdrawal is in force: a system enforcing active consents sees it
    assert (withdrawal["status"], withdrawal["provision"]["type"]) == ("active", "deny")
    assert {"url": REASON_EXTENSION, "valueString": "Changed mind"} in withdrawal["extension"]
    assert all(
        c["policy"][0]["uri"] in urls(bundle, "Contract") for c in resources(bundle, "Consent")
    )


def test_the_home_organization_carries_its_ods_code_and_cqc_location(home_small: Home) -> None:
    h = home_small

    def home_of() -> dict[str, Any]:
        return resources(export(h.ctx, "2026-11-21", "2026-11-21"), "Organization")[0]

    assert "identifier" not in home_of()  # none recorded yet
    settings.change_setting(h.ctx, "home_ods_code", " vm123 ")
    settings.change_setting(h.ctx, "cqc_location_id", "1-123456789")
    bundle = export(h.ctx, "2026-11-21", "2026-11-21")
    assert_valid_r4(bundle)
    assert resources(bundle, "Organization")[0]["identifier"] == [
        {"system": ODS_CODE, "value": "VM123"},
        {"system": CQC_LOCATION, "value": "1-123456789"},
    ]
    settings.change_setting(h.ctx, "home_ods_code", "")  # cleared: the CQC ID alone
    assert home_of()["identifier"] == [{"system": CQC_LOCATION, "value": "1-123456789"}]


def test_a_session_and_a_refusal_map_to_balp_audit_events(home_small: Home) -> None:
    h = home_small
    nurse = h.add_nurse()
    resident = h.add_resident()
    refused = h.add_resident(consent_by=None)
    h.log_in(nurse)
    session = h.open_session(resident)
    access.record_sections_viewed(h.ctx, session.id, ["summary", "medications"])
    access.close_access_session(h.ctx, session.id)
    with pytest.raises(AccessRefused):
        h.open_session(refused)
    h.as_manager()
    bundle = export(h.ctx, "2026-11-21", "2026-11-21")
    assert_valid_r4(bundle)
    read, refusal = sorted(resources(bundle, "AuditEvent"), key=lambda e: e["action"], reverse=True)

    assert read["agent"][0]["who"]["identifier"] == {"system": NMC_PIN, "value": nurse.nmc_pin}
    assert read["agent"][0]["name"] == nurse.full_name
    assert read["agent"][0]["role"][0]["coding"][0]["code"] == "nurse"
    assert read["source"]["site"] == "nurses-station-1"
    sections = [e for e in read["entity"] if e["role"]["code"] == "4"]
    assert [e["name"] for e in sections] == ["Summary", "Medications"]
    # the Consent in force and the agreement relied on, both in the Bundle
    relied = {e["what"]["reference"] for e in read["entity"] if e["role"]["code"] == "13"}
    assert relied <= urls(bundle, "Consent") | urls(bundle, "Contract")
    assert {u.split(":")[0] for u in relied} == {"urn"} and len(relied) == 2
    assert read["entity"][0]["what"]["identifier"]["value"] == resident.nhs_number
    assert "end" in read["period"]

    assert (refusal["action"], refusal["outcome"]) == ("E", "8")
    assert refusal["type"]["system"] == "http://dicom.nema.org/resources/ontology/DCM"
    assert "no consent decision is recorded" in refusal["outcomeDesc"]
    (reason,) = [x for x in refusal["extension"] if x["url"] == REFUSAL_REASON_EXTENSION]
    assert reason["valueCodeableConcept"] == {
        "coding": [
            {
                "system": REFUSAL_REASON_SYSTEM,
                "code": "no_consent",
                "display": "No consent decision recorded",
            }
        ],
        "text": "no consent decision is recorded",
    }


@pytest.fixture
def home_small(ctx: Context, clock: object) -> Home:
    return Home.set_up(ctx, clock)
