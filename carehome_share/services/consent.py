"""Consent decisions: recorded, never edited. A new decision is the only way to change one."""

from dataclasses import replace

from carehome_share.domain import validation as v
from carehome_share.domain.consent import ConsentState, check_consent_decision, consent_state
from carehome_share.domain.errors import ValidationError
from carehome_share.domain.model import ConsentDecision, ConsentKind, DecidedBy
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
) -> ConsentDecision:
    """Record a grant, refusal, objection or withdrawal; the decision made last is the one in
    force. One made today is taken as made now; one made on an earlier day (a paper form
    entered late) keeps only its day, and stands only if nothing was decided after it."""

    def work(tx: Tx) -> ConsentDecision:
        rid = require_resident(tx.conn, resident_id)
        end_sessions_it_affects(tx, resident_id=rid)
        today = v.uk_date(tx.now)
        if not isinstance(lacks_capacity, bool):
            raise ValidationError("lacks_capacity", "yes or no")
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
        )
        check_consent_decision(
            kind=decision.kind,
            decided_by=decision.decided_by,
            decided_on=decision.decided_on,
            today=today,
            lacks_capacity=decision.lacks_capacity,
            capacity_assessed_on=decision.capacity_assessed_on,
            capacity_assessment=decision.capacity_assessment,
            representative_name=decision.representative_name,
            representative_relationship=decision.representative_relationship,
            authority_reference=decision.authority_reference,
            people_consulted=decision.people_consulted,
            review_on=decision.review_on,
            expires_on=decision.expires_on,
        )
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
