"""Consent decisions: recorded, never edited. A new decision is the only way to change one."""

from dataclasses import replace

from carehome_share.domain import validation as v
from carehome_share.domain.consent import ConsentState, check_consent_decision, consent_state
from carehome_share.domain.errors import ValidationError
from carehome_share.domain.model import Ability, ConsentDecision, ConsentKind, DecidedBy
from carehome_share.services.access import end_sessions_it_affects
from carehome_share.services.context import Context, Tx, perform, read, require_resident
from carehome_share.store import repo


def record_consent(
    ctx: Context,
    resident_id: int,
    kind: ConsentKind | str,
    decided_by: DecidedBy | str,
    *,
    decided_on: object = None,
    representative_name: str = "",
    representative_relationship: str = "",
    authority_reference: str = "",
    lacks_capacity: bool = False,
    capacity_assessed_on: object = None,
    capacity_assessment: str = "",
    people_consulted: str = "",
    witness: str = "",
    reason: str = "",
    review_on: object = None,
    expires_on: object = None,
    impairment: bool | None = None,
    impairment_detail: str = "",
    unable_to: object = (),
    has_capacity: bool = False,
    support_steps: str = "",
    capacity_assessed_by: str = "",
    lpa_registered_on: object = None,
    authority_seen_on: object = None,
    authority_seen_by: str = "",
    known_wishes: str = "",
) -> ConsentDecision:
    """Record a grant, refusal, objection or withdrawal; the decision made last is the one in
    force. One made today is taken as made now; one made on an earlier day (a paper form
    entered late) keeps only its day, and stands only if nothing was decided after it."""

    def work(tx: Tx) -> ConsentDecision:
        rid = require_resident(tx.conn, resident_id)
        end_sessions_it_affects(tx, resident_id=rid)
        today = v.uk_date(tx.now)
        for name, given in (("lacks_capacity", lacks_capacity), ("has_capacity", has_capacity)):
            if not isinstance(given, bool):
                raise ValidationError(name, "yes or no")
        if impairment is not None and not isinstance(impairment, bool):
            raise ValidationError("impairment", "yes, no, or not recorded")
        day = v.as_date("decided_on", decided_on, required=False) or today
        decision = ConsentDecision(
            id=0,
            resident_id=rid,
            kind=v.choice("kind", kind, ConsentKind),
            decided_by=v.choice("decided_by", decided_by, DecidedBy),
            decided_on=day,
            decided_at=tx.now if day == today else None,
            recorded_at=tx.now,
            recorded_by=tx.staff.full_name,
            representative_name=v.single_line(
                "representative_name", representative_name, max_len=120, required=False
            ),
            representative_relationship=v.single_line(
                "representative_relationship",
                representative_relationship,
                max_len=80,
                required=False,
            ),
            authority_reference=v.single_line(
                "authority_reference", authority_reference, max_len=80, required=False
            ),
            lacks_capacity=lacks_capacity,
            capacity_assessed_on=v.as_date(
                "capacity_assessed_on", capacity_assessed_on, required=False
            ),
            capacity_assessment=v.text(
                "capacity_assessment", capacity_assessment, max_len=2000, required=False
            ),
            people_consulted=v.text(
                "people_consulted", people_consulted, max_len=1000, required=False
            ),
            witness=v.single_line("witness", witness, max_len=120, required=False),
            reason=v.text("reason", reason, max_len=1000, required=False),
            review_on=v.as_date("review_on", review_on, required=False),
            expires_on=v.as_date("expires_on", expires_on, required=False),
            impairment=impairment,
            impairment_detail=v.text(
                "impairment_detail", impairment_detail, max_len=500, required=False
            ),
            unable_to=tuple(v.choices("unable_to", unable_to, Ability, required=False)),
            has_capacity=has_capacity,
            support_steps=v.text("support_steps", support_steps, max_len=1000, required=False),
            capacity_assessed_by=v.single_line(
                "capacity_assessed_by", capacity_assessed_by, max_len=120, required=False
            ),
            lpa_registered_on=v.as_date("lpa_registered_on", lpa_registered_on, required=False),
            authority_seen_on=v.as_date("authority_seen_on", authority_seen_on, required=False),
            authority_seen_by=v.single_line(
                "authority_seen_by", authority_seen_by, max_len=120, required=False
            ),
            known_wishes=v.text("known_wishes", known_wishes, max_len=1000, required=False),
        )
        check_consent_decision(decision, today)
        if decision.kind is not ConsentKind.GRANTED and not decision.reason:
            raise ValidationError("reason", f"the reason given for the {decision.kind.value}")
        stored = replace(decision, id=repo.insert_consent(tx.conn, decision))
        tx.details.update(
            consent_id=stored.id,
            kind=stored.kind.value,
            decided_by=stored.decided_by.value,
            decided_on=str(stored.decided_on),
            representative=stored.representative_name,
            expires_on=str(stored.expires_on) if stored.expires_on else None,
        )
        if stored.entered_late:  # said in the trail, with the decision that stands now
            standing = consent_state(repo.consents(tx.conn, rid), today).latest
            assert standing is not None
            tx.details.update(entered_late=True, standing_consent_id=standing.id)
        return stored

    return perform(
        ctx,
        "record_consent",
        work,
        resident_id=v.row_id(resident_id),
    )


def consent_in_force(ctx: Context, resident_id: int) -> ConsentState:
    def work(tx: Tx) -> ConsentState:
        history = repo.consents(tx.conn, require_resident(tx.conn, resident_id))
        return consent_state(history, v.uk_date(tx.now))

    return read(ctx, "view_consent", work)


def consent_history(ctx: Context, resident_id: int) -> tuple[ConsentDecision, ...]:
    return read(
        ctx,
        "view_consent",
        lambda tx: repo.consents(tx.conn, require_resident(tx.conn, resident_id)),
    )
