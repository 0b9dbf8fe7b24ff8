"""The FHIR export as HL7 FHIR R4 JSON: a Bundle of type "collection".

- Organization: the home, and each GP practice (by ODS code). The home carries the identifiers
  its manager recorded (Settings): its ODS organisation code (the NHS system
  https://fhir.nhs.uk/Id/ods-organization-code) and its CQC location ID (no NHS or HL7 UK
  naming system is published for these, so the app's own: BASE/Id/cqc-location-id).
- Patient: each resident named, by NHS number.
- Contract: each data sharing agreement the Consents and AuditEvents rely on (those in force
  in the period, and any a session relied on), identified by the home's agreement number.
- Consent: each consent decision made in the period, and each one a session or refusal relied
  on, so "the consent in force then" can be rebuilt from the file. Status: the decision that
  stands (the latest, and for a consent not expired) is "active", whether it permits or not; a
  refusal, objection or withdrawal is provision.type "deny", a consent "permit". A decision
  ended by a later one, or a consent expired, is "inactive", with what ended it in the
  consent-ended extension. `policy` names the agreement's Contract and `policyRule` the rule
  (ppc-1). Who decided is the performer: the resident (Patient), an attorney or deputy
  (contained RelatedPerson with the LPA or court order reference as identifier), or the
  best-interests decision maker (contained Practitioner); an LPA's registration date is the
  start of that identifier's period. R4 has no element for the capacity assessment, the
  representative's authority and the resident's known wishes (capacity-decision extension,
  below), the review date (consent-review-date), the witness (consent-witness) or the reason
  given for a refusal, objection or withdrawal (consent-reason): extensions, defined under BASE.
  capacity-decision's parts: decidedBy (code: resident, lpa_attorney, deputy, best_interests),
  lacksCapacity and hasCapacity (the assessment's finding), impairment (stage 1 of the Mental
  Capacity Act test), impairmentDetail, unableTo (stage 2, one code per ability: understand,
  retain, weigh, communicate), supportSteps (the help given to decide), assessedBy (name and
  role), assessedOn, assessment (the note), authority and authorityReference (the LPA or court
  order), authoritySeenOn and authoritySeenBy (the document as seen at the home),
  peopleConsulted and knownWishes (best interests). Each part is present only when recorded.
- AuditEvent, after IHE Basic Audit Log Patterns (BALP): a session is a patient read (type rest,
  subtype read, action R, outcome 0), claiming meta.profile IHE.BasicAudit.PatientRead; a
  refusal is a security alert (DICOM 110113, subtype 110132 use of restricted function, action
  E, outcome 8, outcomeDesc the reasons), with a refusal-reason extension for each reason: a
  CodeableConcept coded in the refusal-reason CodeSystem (one code per rule of the access
  decision, `ReasonCode` in domain/model.py: role, role_not_held, account_inactive, nmc_missing,
  nmc_unchecked, nmc_expired, not_resident, no_agreement, purpose, justification, no_consent,
  consent_expired, consent_refused, consent_objection, consent_withdrawn, and other for a
  refusal stored before codes whose words match none), its text the words recorded. R4 has no
  element for it; R5 has AuditEvent.outcome.detail, which the extension mirrors. Agents: the nurse (the user, with NMC PIN), the
  workstation (DICOM 110153 source) and the practice's record system (DICOM 110152
  destination). Entities: the patient, the sections viewed, the Consent in force and the
  agreement's Contract.
- Communication: each phone call to the GP practice, `about` the refusal it followed; sent by
  the nurse (NMC PIN), received by the person spoken to at the practice.
- AuditEvent for each decision on someone else's request for residents' information (police,
  council, solicitor...; the export of every practice only): DICOM 110106 Export, subtype the
  decision, outcome 0 when shared and 4 when refused, the lawful basis relied on as
  purposeOfEvent, the reasons as outcomeDesc; agents the requester (recipient) and who
  decided; an entity per resident with what was asked and what was shared.

No resource carries a narrative (`text`): the Bundle is the machine-read twin of the printed
report, which is its human-readable form, and a month's narrative would double its size.

Each AuditEvent and Communication carries one audit-chain-entry extension for every audit entry
that recorded it, oldest first: for a session the entry that opened it, each sections-viewed
entry and the close (by the nurse, or automatic); for a refusal or a call its one entry. Each
holds the entry's sequence number, previous hash, hash and the exact bytes hashed (base64), so
that SHA-256(previousHash || entry) == hash is checked from the export alone; where evidence
travels with the Bundle (below), an entry it lists is named by its sequence number only, as its
bytes are in the evidence (a month's Bundle is then a third of the size). The first is
always the entry written with the record, so a reader of earlier exports, which carried only
that one, still finds it first. The Bundle's identifier is the chain head SEQ:HASH, which
`carehome-share verify --head` checks.

An export for one practice is a document (`document`, `write_bundle`) that carries the evidence
of a GP access report for that practice and period (domain/evidence.py), base64 in the
report-evidence extension on `Bundle.meta` (R4 allows no extension on a Bundle itself), and a
`Bundle.signature`: a detached CMS SignedData by the home's certificate over the Bundle without
its signature, as `check.bundle_signed_bytes` writes it. An entry a row names that the evidence
does not list (made after the period: a session closed the next day) carries its inclusion
proof in the evidence's signed tree head, `inclusionProof` (the hashes, concatenated, base64).
`carehome-share check-report` checks such a Bundle as it checks a signed PDF report.
"""

import base64
import functools
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from carehome_share.check import BUNDLE_SIGNATURE_FORMAT, EVIDENCE_EXTENSION, bundle_signed_bytes
from carehome_share.domain.disclosure import DisclosureDecision, DisclosureRequest
from carehome_share.domain.evidence import EVIDENCE_FILE
from carehome_share.domain.model import (
    Agreement,
    CloseKind,
    ConsentDecision,
    ConsentKind,
    DecidedBy,
    Practice,
    Purpose,
    Resident,
    Role,
    Section,
)
from carehome_share.services.evidence import Evidence
from carehome_share.services.fhir_export import ExportedConsent, FhirExport, Logged
from carehome_share.store.fhir_queries import ChainLink
from carehome_share.store.report_queries import (
    ConsentBasis,
    ContactLine,
    RefusalLine,
    SessionLine,
)

# Our own definitions. The domain is reserved (RFC 2606) until the project has a published one.
BASE = "https://carehome-share.example.org/fhir"
CHAIN_EXTENSION = f"{BASE}/StructureDefinition/audit-chain-entry"
CAPACITY_EXTENSION = f"{BASE}/StructureDefinition/capacity-decision"
REVIEW_EXTENSION = f"{BASE}/StructureDefinition/consent-review-date"
WITNESS_EXTENSION = f"{BASE}/StructureDefinition/consent-witness"
REASON_EXTENSION = f"{BASE}/StructureDefinition/consent-reason"
ENDED_EXTENSION = f"{BASE}/StructureDefinition/consent-ended"
REFUSAL_REASON_EXTENSION = f"{BASE}/StructureDefinition/refusal-reason"
REFUSAL_REASON_SYSTEM = f"{BASE}/CodeSystem/refusal-reason"
AGREEMENT_SYSTEM = f"{BASE}/Id/data-sharing-agreement"
POLICY_SYSTEM = f"{BASE}/CodeSystem/consent-policy"
CHAIN_HEAD_SYSTEM = f"{BASE}/Id/audit-chain-head"
PURPOSE_SYSTEM = f"{BASE}/CodeSystem/purpose"
SECTION_SYSTEM = f"{BASE}/CodeSystem/gp-record-section"
ROLE_SYSTEM = f"{BASE}/CodeSystem/staff-role"
BASIS_SYSTEM = f"{BASE}/CodeSystem/disclosure-lawful-basis"
DISCLOSURE_SYSTEM = f"{BASE}/CodeSystem/disclosure-decision"

NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
ODS_CODE = "https://fhir.nhs.uk/Id/ods-organization-code"
# No NHS or HL7 UK naming system for CQC location IDs is published: ours, until one is
CQC_LOCATION = f"{BASE}/Id/cqc-location-id"
NMC_PIN = "https://fhir.hl7.org.uk/Id/nmc-number"  # the UK Core naming system for NMC PINs
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
_ROLE_CODE = f"{_TERMINOLOGY}/v3-RoleCode"
_PARTICIPATION = f"{_TERMINOLOGY}/v3-ParticipationType"
_TREATMENT = {"system": f"{_TERMINOLOGY}/v3-ActReason", "code": "TREAT", "display": "treatment"}
_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_BALP = "https://profiles.ihe.net/ITI/BALP/StructureDefinition"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, BASE)
# ASTM E1762-95: the signature of the source of the data (the home, of its own records)
_SOURCE_SIGNATURE = ("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.14", "Source Signature")

_POLICY_RULE = (
    POLICY_SYSTEM,
    "gp-record-access-agreement",
    "Access to the GP record by the home's nurses under the data sharing agreement",
)
_REPRESENTATIVE = {
    DecidedBy.LPA_ATTORNEY: ("HPOWATT", "healthcare power of attorney"),
    DecidedBy.DEPUTY: ("GUARD", "guardian"),
}
_AUTHORITY = {
    DecidedBy.LPA_ATTORNEY: "Mental Capacity Act 2005: health and welfare lasting power of attorney",
    DecidedBy.DEPUTY: "Mental Capacity Act 2005: deputy appointed by the Court of Protection",
    DecidedBy.BEST_INTERESTS: "Mental Capacity Act 2005, section 4: best-interests decision",
}


@functools.lru_cache(maxsize=4096)  # a month's events name the same few dozen resources
def full_url(kind: str, key: object) -> str:
    """A stable urn:uuid: the same record gets the same fullUrl in every export."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


@dataclass(frozen=True)
class _Carried:
    """What the evidence inside or beside the Bundle holds for the audit entries rows name: the
    entries it lists (their bytes are there, so a row names them by sequence number only) and
    an inclusion proof for each it does not list (made after the period)."""

    listed: frozenset[int] = frozenset()
    proofs: dict[int, list[bytes]] = field(default_factory=dict)

    @classmethod
    def by(cls, evidence: Evidence | None) -> "_Carried":
        if evidence is None:
            return cls()
        return cls(frozenset(e["seq"] for e in evidence.data["entries"]), evidence.proofs)

    def chain(self, link: ChainLink) -> dict[str, Any]:
        """One audit entry a row names: its sequence number; unless the evidence lists it, the
        exact bytes hashed and its chain hashes, and its inclusion proof if the evidence has
        one for it."""
        parts: list[dict[str, Any]] = [{"url": "sequence", "valueInteger": link.seq}]
        if link.seq not in self.listed:
            parts += [
                {"url": "previousHash", "valueString": link.prev_hash},
                {"url": "hash", "valueString": link.hash},
                {"url": "entry", "valueBase64Binary": _base64(link.entry)},
            ]
        if proof := self.proofs.get(link.seq):
            parts.append({"url": "inclusionProof", "valueBase64Binary": _base64(b"".join(proof))})
        return {"url": CHAIN_EXTENSION, "extension": parts}


def bundle(export: FhirExport, beside: Evidence | None = None) -> dict[str, Any]:
    """The Bundle of the export's rows, unsigned. A GP access report attaches it with the
    evidence `beside` it, in the same signed PDF: the entries that lists are named by number."""
    return _bundle(export, _Carried.by(beside))


def document(export: FhirExport) -> dict[str, Any]:
    """The Bundle as exported: for one practice with its evidence and signed by the home's key,
    so that `check-report` checks it; for every practice the plain Bundle."""
    if export.evidence is None or export.key is None:
        return bundle(export)
    signed = _bundle(export, _Carried.by(export.evidence))
    signed["meta"]["extension"] = [
        {
            "url": EVIDENCE_EXTENSION,
            "valueAttachment": {
                "contentType": "application/json",
                "title": EVIDENCE_FILE,
                "data": base64.b64encode(export.evidence.to_bytes()).decode("ascii"),
            },
        }
    ]
    signed["signature"] = _signature(signed, export)
    return signed


def _signature(unsigned: dict[str, Any], export: FhirExport) -> dict[str, Any]:
    """Bundle.signature: a detached CMS SignedData (PKCS #7) by the home's certificate over the
    Bundle without its signature, as `check.bundle_signed_bytes` gives it."""
    assert export.key is not None
    cms = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(bundle_signed_bytes(unsigned))
        .add_signer(export.key.certificate, export.key.private_key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )
    return {
        "type": [_coding(*_SOURCE_SIGNATURE)],
        "when": _instant(export.at),
        "who": {"reference": full_url("Organization", "home"), "display": export.home_name},
        "sigFormat": BUNDLE_SIGNATURE_FORMAT,
        "data": base64.b64encode(cms).decode("ascii"),
    }


def _bundle(export: FhirExport, carried: _Carried) -> dict[str, Any]:
    return {**_bundle_head(export), "entry": list(_entries(export, carried))}


def encoded_in_pieces(
    export: FhirExport, beside: Evidence, piece: int = 1 << 20
) -> Iterator[bytes]:
    """`encode(bundle(export, beside))` in pieces of about `piece` bytes, each entry made as it
    is written: a care group's year is 110,000 AuditEvents, 500 MiB of JSON and three times
    that as a dict, which the whole Bundle would hold at once. The entries come last."""
    carried = _Carried.by(beside)
    buffer = bytearray(encode({**_bundle_head(export), "entry": []})[: -len(b"]}")])
    for n, entry in enumerate(_entries(export, carried)):
        if n:
            buffer += b","
        buffer += encode(entry)
        if len(buffer) >= piece:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer + b"]}")


def _bundle_head(export: FhirExport) -> dict[str, Any]:
    """Everything in the Bundle but its entries, in its order."""
    return {
        "resourceType": "Bundle",
        "meta": {"security": [_coding(f"{_TERMINOLOGY}/v3-Confidentiality", "R", "restricted")]},
        "identifier": {
            "system": CHAIN_HEAD_SYSTEM,
            "value": f"{export.head.seq}:{export.head.hash}",
        },
        "type": "collection",
        "timestamp": _instant(export.at),
    }


def _entries(export: FhirExport, carried: _Carried) -> Iterator[dict[str, Any]]:
    """The Bundle's entries, in its order, each made when asked for."""
    home = full_url("Organization", "home")
    practices = {p.id: p for p in export.practices}
    agreements = {a.id: a for a in export.agreements} | {
        c.agreement.id: c.agreement for c in export.consents if c.agreement
    }
    residents = {r.id: r for r in export.residents.values()}
    made = itertools.chain(
        [(home, _home(export))],
        ((full_url("Organization", p.ods_code), _practice(p)) for p in export.practices),
        (
            (full_url("Patient", nhs), _patient(r, practices.get(r.practice_id)))
            for nhs, r in export.residents.items()
        ),
        (
            (
                full_url("Contract", a.id),
                _contract(a, home, export.home_name, practices[a.practice_id]),
            )
            for a in agreements.values()
        ),
        ((full_url("Consent", c.decision.id), _consent(c, home)) for c in export.consents),
        (
            (full_url("AuditEvent", f"session/{s.line.id}"), _read(s, home, carried))
            for s in export.sessions
        ),
        (
            (full_url("AuditEvent", f"refusal/{r.line.id}"), _refusal(r, home, carried))
            for r in export.refusals
        ),
        ((full_url("Communication", c.line.id), _call(c, home, carried)) for c in export.contacts),
        (
            (full_url("AuditEvent", f"disclosure/{d.id}"), _disclosure(request, d, home, residents))
            for request, d in export.disclosures
        ),
    )
    for url, resource in made:
        yield {"fullUrl": url, "resource": resource}


def write_bundle(export: FhirExport, out: BinaryIO) -> int:
    """Write the export (`document`); return the number of resources in it."""
    written = document(export)
    out.write(encode(written))
    return len(written["entry"])


def encode(resource: dict[str, Any]) -> bytes:
    """A resource as compact UTF-8 JSON (a month is megabytes: any JSON tool indents it), the
    bytes json.dumps(..., ensure_ascii=False, separators=(",", ":")) writes, 7x faster."""
    return orjson.dumps(resource)


# -- organisations and people ------------------------------------------------------------------


def _home(export: FhirExport) -> dict[str, Any]:
    home: dict[str, Any] = {"resourceType": "Organization", "name": export.home_name}
    ids = export.home_ids
    identifiers = [
        {"system": system, "value": value}
        for system, value in ((ODS_CODE, ids.ods_code), (CQC_LOCATION, ids.cqc_location_id))
        if value
    ]
    if identifiers:
        home["identifier"] = identifiers
    return home


def _practice(p: Practice) -> dict[str, Any]:
    practice: dict[str, Any] = {
        "resourceType": "Organization",
        "identifier": [{"system": ODS_CODE, "value": p.ods_code}],
        "name": p.name,
    }
    if p.phone:
        practice["telecom"] = [{"system": "phone", "value": p.phone, "use": "work"}]
    return practice


def _practice_ref(p: Practice) -> dict[str, Any]:
    return {
        "reference": full_url("Organization", p.ods_code),
        "identifier": {"system": ODS_CODE, "value": p.ods_code},
        "display": p.name,
    }


def _patient(r: Resident, practice: Practice | None) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": NHS_NUMBER, "value": r.nhs_number}],
        "name": [{"use": "official", "family": r.family_name, "given": [r.given_name]}],
        "birthDate": r.date_of_birth.isoformat(),
    }
    if practice:  # None: registered with a practice left out of the export
        patient["generalPractitioner"] = [_practice_ref(practice)]
    return patient


def _patient_ref(nhs_number: str, name: str) -> dict[str, Any]:
    return {
        "reference": full_url("Patient", nhs_number),
        "identifier": {"system": NHS_NUMBER, "value": nhs_number},
        "display": name,
    }


# -- agreements and consent ---------------------------------------------------------------------


def _contract(a: Agreement, home: str, home_name: str, practice: Practice) -> dict[str, Any]:
    applies = {"start": a.starts_on.isoformat()}
    if a.ends_on:
        applies["end"] = a.ends_on.isoformat()
    return {
        "resourceType": "Contract",
        "identifier": [{"system": AGREEMENT_SYSTEM, "value": str(a.id)}],
        "status": "executed",
        "applies": applies,
        "title": f"Data sharing agreement between {home_name} and {practice.name}",
        "authority": [{"reference": home, "display": home_name}, _practice_ref(practice)],
    }


def _agreement_ref(agreement_id: int) -> dict[str, Any]:
    return {
        "reference": full_url("Contract", agreement_id),
        "identifier": {"system": AGREEMENT_SYSTEM, "value": str(agreement_id)},
    }


def _consent(exported: ExportedConsent, home: str) -> dict[str, Any]:
    d, resident = exported.decision, exported.resident
    granted = d.kind is ConsentKind.GRANTED
    period = {"start": d.decided_on.isoformat()}
    if granted and d.expires_on:
        period["end"] = d.expires_on.isoformat()  # both the last day in force, included
    provision: dict[str, Any] = {
        "type": "permit" if granted else "deny",
        "period": period,
        "actor": [
            {
                "role": _concept(_PARTICIPATION, "CST", "custodian"),
                "reference": _practice_ref(exported.practice),
            },
            {
                "role": _RECIPIENT,
                "reference": {"reference": home},
            },
        ],
    }
    if exported.purposes:
        provision["purpose"] = [_purpose(p) for p in exported.purposes]
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active" if exported.in_force else "inactive",
        "scope": _concept(f"{_TERMINOLOGY}/consentscope", "patient-privacy", "Privacy Consent"),
        "category": [_concept("http://loinc.org", "59284-0", "Patient Consent")],
        "patient": _patient_ref(resident.nhs_number, resident.full_name),
        "dateTime": d.decided_on.isoformat(),
        "organization": [{"reference": home}],
        "policyRule": _concept(*_POLICY_RULE),
        "provision": provision,
    }
    if exported.agreement:
        consent["policy"] = [{"uri": full_url("Contract", exported.agreement.id)}]
    if d.decided_by is DecidedBy.RESIDENT:
        consent["performer"] = [consent["patient"]]
    else:
        consent["contained"] = [_decision_maker(d, consent["patient"])]
        consent["performer"] = [{"reference": "#decision-maker", "display": d.representative_name}]
    extensions = []
    assessed = d.lacks_capacity or d.has_capacity or d.impairment is not None
    if assessed or d.decided_by is not DecidedBy.RESIDENT:
        extensions.append(_capacity(d))
    if d.review_on:
        extensions.append({"url": REVIEW_EXTENSION, "valueDate": d.review_on.isoformat()})
    if d.witness:
        extensions.append({"url": WITNESS_EXTENSION, "valueString": d.witness})
    if d.reason:  # why it was refused, objected to or withdrawn, in the words recorded
        extensions.append({"url": REASON_EXTENSION, "valueString": d.reason})
    if ended := _ended(exported):
        extensions.append(ended)
    if extensions:
        consent["extension"] = extensions
    return consent


def _ended(exported: ExportedConsent) -> dict[str, Any] | None:
    """What ended a decision no longer in force: a later decision (its kind and day), or the
    consent's expiry."""
    d, later = exported.decision, exported.replaced_by
    if later is not None:
        parts = [
            {"url": "by", "valueCode": later.kind.value},
            {"url": "on", "valueDate": later.decided_on.isoformat()},
        ]
    elif not exported.in_force and d.expires_on:
        parts = [
            {"url": "by", "valueCode": "expired"},
            {"url": "on", "valueDate": d.expires_on.isoformat()},
        ]
    else:
        return None
    return {"url": ENDED_EXTENSION, "extension": parts}


def _decision_maker(d: ConsentDecision, patient: dict[str, Any]) -> dict[str, Any]:
    name = [{"text": d.representative_name}]
    if d.decided_by is DecidedBy.BEST_INTERESTS:
        return {"resourceType": "Practitioner", "id": "decision-maker", "name": name}
    code, display = _REPRESENTATIVE[d.decided_by]
    relationship = [_concept(_ROLE_CODE, code, display)]
    if d.representative_relationship:
        relationship.append({"text": d.representative_relationship})
    authority: dict[str, Any] = {
        "type": {"text": _AUTHORITY[d.decided_by]},
        "value": d.authority_reference,
    }
    if d.lpa_registered_on:  # an attorney's authority holds from the LPA's registration
        authority["period"] = {"start": d.lpa_registered_on.isoformat()}
    return {
        "resourceType": "RelatedPerson",
        "id": "decision-maker",
        "identifier": [authority],
        "patient": patient,
        "relationship": relationship,
        "name": name,
    }


def _capacity(d: ConsentDecision) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "decidedBy", "valueCode": d.decided_by.value},
        {"url": "lacksCapacity", "valueBoolean": d.lacks_capacity},
    ]
    if d.has_capacity:
        parts.append({"url": "hasCapacity", "valueBoolean": True})
    if d.impairment is not None:
        parts.append({"url": "impairment", "valueBoolean": d.impairment})
    parts += [{"url": "unableTo", "valueCode": a.value} for a in d.unable_to]
    texts = (
        ("impairmentDetail", d.impairment_detail),
        ("supportSteps", d.support_steps),
        ("assessedBy", d.capacity_assessed_by),
    )
    parts += [{"url": url, "valueString": text} for url, text in texts if text]
    if d.decided_by in _AUTHORITY:
        parts.append({"url": "authority", "valueString": _AUTHORITY[d.decided_by]})
    if d.authority_reference:
        parts.append({"url": "authorityReference", "valueString": d.authority_reference})
    if d.authority_seen_on:
        parts.append({"url": "authoritySeenOn", "valueDate": d.authority_seen_on.isoformat()})
    if d.authority_seen_by:
        parts.append({"url": "authoritySeenBy", "valueString": d.authority_seen_by})
    if d.capacity_assessed_on:
        parts.append({"url": "assessedOn", "valueDate": d.capacity_assessed_on.isoformat()})
    if d.capacity_assessment:
        parts.append({"url": "assessment", "valueString": d.capacity_assessment})
    if d.people_consulted:
        parts.append({"url": "peopleConsulted", "valueString": d.people_consulted})
    if d.known_wishes:
        parts.append({"url": "knownWishes", "valueString": d.known_wishes})
    return {"url": CAPACITY_EXTENSION, "extension": parts}


# -- access audit ------------------------------------------------------------------------------


def _read(logged: Logged[SessionLine], home: str, carried: _Carried) -> dict[str, Any]:
    s = logged.line
    event = _event(logged, home, carried, s.opened_at, s.nurse_name, "nurse", s.nmc_pin, s.purpose)
    event |= {
        "meta": _PATIENT_READ,
        "type": _REST,
        "subtype": [_READ],
        "action": "R",
        "outcome": "0",
    }
    event["period"] = {"start": event["recorded"]}  # recorded when opened
    if s.closed_at:
        event["period"]["end"] = _instant(s.closed_at)
    if s.close_kind is CloseKind.AUTO_CLOSED:
        event["outcomeDesc"] = "left open past the limit and closed automatically"
    elif s.close_kind is CloseKind.ENDED:
        event["outcomeDesc"] = f"ended when the rules stopped allowing it: {s.close_reason}"
    event["entity"] = [
        _patient_entity(s.nhs_number, s.resident_name, s.justification),
        *(_SECTIONS_VIEWED[section] for section in s.sections),
        *_basis(s.consent, s.agreement_id),
    ]
    return event


def _basis(consent: ConsentBasis | None, agreement_id: int | None) -> list[dict[str, Any]]:
    """The Consent in force when access was decided, and the agreement relied on."""
    entities = []
    if consent is not None:
        entities.append(_security_entity({"reference": full_url("Consent", consent.id)}))
    if agreement_id is not None:
        entities.append(_security_entity(_agreement_ref(agreement_id)))
    return entities


def _security_entity(what: dict[str, Any]) -> dict[str, Any]:
    return {
        "what": what,
        "type": _SYSTEM_OBJECT,
        "role": _SECURITY_RESOURCE,
    }


def _refusal(logged: Logged[RefusalLine], home: str, carried: _Carried) -> dict[str, Any]:
    r = logged.line
    event = _event(logged, home, carried, r.at, r.staff_name, r.role.value, None, r.purpose)
    event |= {
        "type": _coding(_DCM, "110113", "Security Alert"),
        "subtype": [_coding(_DCM, "110132", "Use of Restricted Function")],
        "action": "E",
        "period": {"start": _instant(r.at), "end": _instant(r.at)},
        "outcome": "8",
        "outcomeDesc": "Refused: " + "; ".join(r.reasons),
        "entity": [
            _patient_entity(r.nhs_number, r.resident_name, r.justification),
            *_basis(r.consent, None),
        ],
    }
    event["extension"] = event.get("extension", []) + [
        {
            "url": REFUSAL_REASON_EXTENSION,
            "valueCodeableConcept": {
                "coding": [_coding(REFUSAL_REASON_SYSTEM, code.value, code.label)],
                "text": text,
            },
        }
        for code, text in zip(r.codes, r.reasons, strict=True)
    ]
    return event


def _event(
    logged: Logged[Any],
    home: str,
    carried: _Carried,
    at: datetime,
    name: str,
    role: str,
    nmc_pin: str | None,
    purpose: Purpose,
) -> dict[str, Any]:
    """What every AuditEvent holds: when, who (as the audit entry recorded them), why, where."""
    link = logged.link
    source: dict[str, Any] = {
        "observer": {"reference": home},
        "type": [_USER_DEVICE],
    }
    workstation = logged.line.workstation
    if link:  # the person and place as the audit entry recorded them at the time
        name, role, pin = link.actor_name, link.actor_role, link.actor_nmc_pin or nmc_pin
        workstation = link.workstation
    else:
        pin = nmc_pin
    source["site"] = workstation
    who = _nurse(name, pin)
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "recorded": _instant(at),
        "purposeOfEvent": [{"coding": [_TREATMENT]}],
        "agent": [
            {
                "type": _RECIPIENT,
                "role": [_ROLES[role]],
                "who": who,
                "name": name,
                "requestor": True,
                "purposeOfUse": [_PURPOSES_OF_USE[purpose]],
            },
            {  # BALP: the client, the home's workstation
                "type": _SOURCE_ROLE,
                "who": {"display": workstation},
                "requestor": False,
            },
            {  # BALP: the server, the practice's record system
                "type": _DESTINATION_ROLE,
                "who": _practice_ref(logged.practice),
                "requestor": False,
            },
        ],
        "source": source,
    }
    if logged.chain:
        event["extension"] = [carried.chain(link) for link in logged.chain]
    return event


def _nurse(name: str, nmc_pin: str | None) -> dict[str, Any]:
    who: dict[str, Any] = {"display": name}
    if nmc_pin:
        who["identifier"] = {"system": NMC_PIN, "value": nmc_pin}
    return who


def _patient_entity(nhs_number: str, name: str, justification: str) -> dict[str, Any]:
    return {
        "what": _patient_ref(nhs_number, name),
        "type": _PERSON,
        "role": _PATIENT,
        "detail": [{"type": "justification", "valueString": justification}],
    }


def _call(logged: Logged[ContactLine], home: str, carried: _Carried) -> dict[str, Any]:
    c = logged.line
    call: dict[str, Any] = {
        "resourceType": "Communication",
        "status": "completed",
        "medium": [_concept(f"{_TERMINOLOGY}/v3-ParticipationMode", "PHONE", "telephone")],
        "subject": _patient_ref(c.nhs_number, c.resident_name),
        "sent": _instant(c.at),
        "sender": _nurse(c.staff_name, logged.link.actor_nmc_pin if logged.link else ""),
        # the person spoken to; the practice is the Communication's recipient organisation
        "recipient": [{"display": c.spoke_to}, _practice_ref(logged.practice)],
        "payload": [{"contentString": c.reason}, {"contentString": f"Outcome: {c.outcome}"}],
    }
    if c.refusal_id is not None:
        call["about"] = [{"reference": full_url("AuditEvent", f"refusal/{c.refusal_id}")}]
    if logged.chain:
        call["extension"] = [carried.chain(link) for link in logged.chain]
    return call


def _disclosure(
    request: DisclosureRequest, d: DisclosureDecision, home: str, residents: dict[int, Resident]
) -> dict[str, Any]:
    """A decision on someone else's request for residents' information, as a DICOM Export
    event: shared (outcome 0, what was shared on each resident's entity) or refused (outcome 4,
    minor failure: nothing left the home), with the lawful basis it relied on as the purpose
    and the reasons as outcomeDesc. Who asked is the recipient; who decided, the decision maker."""
    detail = [{"type": "asked", "valueString": request.asked}]
    if d.outcome.discloses:
        detail.append({"type": "disclosed", "valueString": f"{d.disclosed} (sent: {d.sent_how})"})
    return {
        "resourceType": "AuditEvent",
        "type": _coding(_DCM, "110106", "Export"),
        "subtype": [_coding(DISCLOSURE_SYSTEM, d.outcome.value, d.outcome.label)],
        "action": "R",
        "recorded": _instant(d.decided_at),
        "outcome": "0" if d.outcome.discloses else "4",
        "outcomeDesc": d.reasons,
        "purposeOfEvent": [_concept(BASIS_SYSTEM, d.basis.value, d.basis.label)],
        "agent": [
            {
                "type": _RECIPIENT,
                "who": {"display": f"{request.person}, {request.organisation}"},
                "name": request.person,
                "requestor": True,
            },
            {
                "type": _concept(_PARTICIPATION, "AUT", "author (originator)"),
                "who": {"display": d.decided_by},
                "requestor": False,
            },
        ],
        "source": {
            "observer": {"reference": home},
            "type": [_coding(f"{_TERMINOLOGY}/security-source-type", "4", "Application Server")],
        },
        "entity": [
            {
                "what": _patient_ref(r.nhs_number, r.full_name),
                "type": _PERSON,
                "role": _PATIENT,
                "detail": detail,
            }
            for r in (residents[rid] for rid in request.resident_ids)
        ],
    }


# -- small values ------------------------------------------------------------------------------


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [_coding(system, code, display)]}


def _purpose(purpose: Purpose) -> dict[str, str]:
    return _coding(PURPOSE_SYSTEM, purpose.value, purpose.label)


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds")


# Codings every AuditEvent repeats, made once: a month's Bundle holds thousands of events. They
# are shared between events, which is sound because a Bundle is encoded as built, never changed.
_PATIENT_READ = {"profile": [f"{_BALP}/IHE.BasicAudit.PatientRead"]}
_REST = _coding(f"{_TERMINOLOGY}/audit-event-type", "rest", "RESTful Operation")
_READ = _coding("http://hl7.org/fhir/restful-interaction", "read", "read")
_PERSON = _coding(f"{_TERMINOLOGY}/audit-entity-type", "1", "Person")
_SYSTEM_OBJECT = _coding(f"{_TERMINOLOGY}/audit-entity-type", "2", "System Object")
_PATIENT = _coding(f"{_TERMINOLOGY}/object-role", "1", "Patient")
_DOMAIN_RESOURCE = _coding(f"{_TERMINOLOGY}/object-role", "4", "Domain Resource")
_SECURITY_RESOURCE = _coding(f"{_TERMINOLOGY}/object-role", "13", "Security Resource")
_USER_DEVICE = _coding(f"{_TERMINOLOGY}/security-source-type", "1", "User Device")
_RECIPIENT = _concept(_PARTICIPATION, "IRCP", "information recipient")
_SOURCE_ROLE = _concept(_DCM, "110153", "Source Role ID")
_DESTINATION_ROLE = _concept(_DCM, "110152", "Destination Role ID")
_ROLES = {role.value: _concept(ROLE_SYSTEM, role.value, role.label) for role in Role}
_PURPOSES_OF_USE = {purpose: {"coding": [_purpose(purpose)]} for purpose in Purpose}
_SECTIONS_VIEWED = {  # the entity of each part of the record a session looked at
    section: {
        "type": _SYSTEM_OBJECT,
        "role": _DOMAIN_RESOURCE,
        "what": {"identifier": {"system": SECTION_SYSTEM, "value": section.value}},
        "name": section.label,
    }
    for section in Section
}
