"""GP-record access: sessions opened, sections viewed, sessions closed; refusals and GP calls."""

from dataclasses import replace
from datetime import timedelta

from carehome_share.domain import validation as v
from carehome_share.domain.errors import AccessRefused, NotFound, PermissionDenied, ValidationError
from carehome_share.domain.model import CloseKind, Purpose, ReasonCode, Section
from carehome_share.domain.rules import decide, session_end
from carehome_share.services.context import (
    NOBODY,
    Context,
    Tx,
    actor_of,
    perform,
    read,
    require_resident,
    temporary_password,
)
from carehome_share.services.settings import setting
from carehome_share.store import audit, repo
from carehome_share.store.repo import AccessSession


def open_access_session(
    ctx: Context, resident_id: int, purpose: Purpose | str, justification: str
) -> AccessSession:
    """Apply every rule of the agreement now. Allowed: the session opens, with the alerts the
    manager is given (a review due) for the nurse too. Refused: the refusal is recorded with
    every reason, and AccessRefused says to phone the GP practice instead. A justification too
    short is an input mistake, not a refusal: ValidationError, nothing recorded (the rule's own
    reason says so, so the count stays the rule's)."""
    refusal: PermissionDenied | None = None
    with ctx.vault.transaction() as conn:
        now = ctx.now()
        staff = repo.get_staff(conn, ctx.login.staff.id) if ctx.login else None
        problem = "nobody is logged in" if staff is None else temporary_password(conn, staff)
        if problem or staff is None or ctx.login is None:
            known = v.row_id(resident_id) and repo.get_resident(conn, resident_id)
            audit.append(
                conn,
                at=now,
                actor=actor_of(staff, ctx.login.role) if staff and ctx.login else NOBODY,
                workstation=ctx.workstation,
                action="open_access_session",
                outcome="denied",
                resident_id=resident_id if known else None,  # type: ignore[arg-type]
                reasons=[problem or "nobody is logged in"],
            )
            refusal = PermissionDenied("open_access_session", [problem or "nobody is logged in"])
        else:
            rid = require_resident(conn, resident_id)
            chosen = v.choice("purpose", purpose, Purpose)
            why = v.text("justification", justification, max_len=1000, required=False)
            record = repo.resident_record(conn, rid)
            assert record is not None
            decision = decide(staff, ctx.login.role, record, chosen, why, now)
            short = next((r for r in decision.reasons if r.code is ReasonCode.JUSTIFICATION), None)
            if short is not None:
                raise ValidationError("justification", short.text)
            consent_id = decision.consent.id if decision.consent else None
            details: dict[str, object] = {
                "purpose": chosen.value,
                "justification": why,
                "consent_id": consent_id,
                "consent_basis": decision.consent.decided_by.value if decision.consent else None,
                "practice_id": record.resident.practice_id,
            }
            if decision.allowed:
                assert decision.agreement is not None and staff.nmc_pin
                session_id = repo.insert_session(
                    conn,
                    resident_id=rid,
                    staff_id=staff.id,
                    practice_id=record.resident.practice_id,
                    nmc_pin=staff.nmc_pin,
                    purpose=chosen,
                    justification=why,
                    opened_at=now,
                    consent_id=consent_id,
                    agreement_id=decision.agreement.id,
                    workstation=ctx.workstation,
                    decided_by_self=decision.decided_by_self,
                )
                details.update(session_id=session_id, agreement_id=decision.agreement.id)
                if decision.decided_by_self:
                    details.update(decided_by_self=True)
                audit.append(
                    conn,
                    at=now,
                    actor=actor_of(staff, ctx.login.role),
                    workstation=ctx.workstation,
                    action="open_access_session",
                    outcome="allowed",
                    resident_id=rid,
                    details={**details, "alerts": list(decision.alerts)},
                )
                session = repo.get_session(conn, session_id)
                assert session is not None
                return replace(session, alerts=decision.alerts)  # the nurse is told, too
            reasons = [r.text for r in decision.reasons]
            refusal_id = repo.insert_refusal(
                conn,
                resident_id=rid,
                staff_id=staff.id,
                practice_id=record.resident.practice_id,
                role=ctx.login.role.value,
                purpose=chosen.value,
                justification=why,
                at=now,
                reasons=decision.reasons,
                consent_id=consent_id,
                workstation=ctx.workstation,
            )
            audit.append(
                conn,
                at=now,
                actor=actor_of(staff, ctx.login.role),
                workstation=ctx.workstation,
                action="open_access_session",
                outcome="denied",
                resident_id=rid,
                reasons=reasons,
                details={**details, "refusal_id": refusal_id},
            )
            refusal = AccessRefused(reasons, refusal_id)
    raise refusal


def preview_decision(ctx: Context, resident_id: int) -> tuple[str, ...]:
    """What would refuse a session for this resident now, for any purpose the agreement
    covers, before the nurse writes a justification: the same rules, nothing opened, nothing
    recorded. Empty when a session would open."""

    def work(tx: Tx) -> tuple[str, ...]:
        record = repo.resident_record(tx.conn, require_resident(tx.conn, resident_id))
        assert record is not None
        today = v.uk_date(tx.now)
        covered = [p for a in record.agreements if a.in_force_on(today) for p in a.purposes]
        purpose = covered[0] if covered else next(iter(Purpose))
        decision = decide(tx.staff, tx.role, record, purpose, _PLACEHOLDER, tx.now)
        return tuple(r.text for r in decision.reasons)

    return read(ctx, "view_consent", work, resident_id=resident_id)


_PLACEHOLDER = "a justification the nurse has yet to write"  # passes the length rule


def _own_session(tx: Tx, session_id: object) -> AccessSession:
    sid = v.row_id(session_id)
    session = None if sid is None else repo.get_session(tx.conn, sid)
    if session is None or session.staff_id != tx.staff.id:
        raise NotFound("session_id", "one of your own access sessions")
    tx.resident_id = session.resident_id
    return session


def _own_open_session(tx: Tx, session_id: object) -> AccessSession:
    session = _own_session(tx, session_id)
    if session.closed_at is not None:
        raise ValidationError("session_id", f"an open session (this one {how_it_closed(session)})")
    return session


def how_it_closed(session: AccessSession) -> str:
    """How a closed session ended, as its nurse is told: it was closed, auto-closed at its time
    limit, or ended by a change to the rules (with why)."""
    assert session.closed_at is not None
    at = session.closed_at.astimezone(v.UK).strftime("%d/%m/%Y %H:%M")
    if session.close_kind is CloseKind.AUTO_CLOSED:
        return f"was auto-closed at {at}: its time limit was reached"
    if session.close_kind is CloseKind.ENDED:
        return f"was ended at {at}: {session.close_reason}"
    return f"was closed at {at}"


def _settle(tx: Tx, sessions: list[AccessSession], *, change_written: bool = False) -> list[int]:
    """Close each open session the rules no longer allow, at the moment it ended and with why
    (domain/rules.py `session_end`), each in its own entry; return their ids."""
    limit = timedelta(minutes=setting(tx.conn, "session_limit_minutes"))
    closed = []
    for session in sessions:
        staff = repo.get_staff(tx.conn, session.staff_id)
        record = repo.resident_record(tx.conn, session.resident_id)
        assert staff is not None and record is not None
        end = session_end(
            staff,
            record,
            session.purpose,
            session.justification,
            session.opened_at,
            limit,
            tx.now,
            change_written=change_written,
        )
        if end is None:
            continue
        reason = "; ".join(r.text for r in end.reasons)
        repo.close_session(tx.conn, session.id, end.at, end.kind, reason)
        details: dict[str, object] = {
            "session_id": session.id,
            "closed_at": audit.format_time(end.at),
        }
        if end.kind is CloseKind.ENDED:
            details.update(close_kind=end.kind.value, reason=reason)
        audit.append(
            tx.conn,
            at=tx.now,
            actor=actor_of(tx.staff, tx.role),
            workstation=tx.workstation,
            action="auto_close_session",  # the app closed it: its limit, or a change to the rules
            outcome="allowed",
            resident_id=session.resident_id,
            details=details,
        )
        closed.append(session.id)
    return closed


def end_sessions_it_affects(
    tx: Tx,
    *,
    resident_id: int | None = None,
    staff_id: int | None = None,
    practice_id: int | None = None,
) -> None:
    """For a change about to be written (a withdrawal, objection, discharge, deactivation, a
    registration or agreement cut short): the open sessions of that resident, member of staff or
    practice that ran out by themselves are closed first, as they ended; then, once the change
    and its entry are written, each one the rules no longer allow ends at that moment."""

    def affected() -> list[AccessSession]:
        return repo.open_sessions(
            tx.conn, resident_id=resident_id, staff_id=staff_id, practice_id=practice_id
        )

    _settle(tx, affected())
    tx.then.append(lambda: _settle(tx, affected(), change_written=True))


def _settled(ctx: Context, action: str, session_id: object) -> AccessSession:
    """The nurse's own session as it stands now, closed first (and committed) if its limit or
    the rules ended it since it was last looked at."""

    def work(tx: Tx) -> AccessSession:
        session = _own_session(tx, session_id)
        if session.closed_at is None:
            _settle(tx, [session])
        settled = repo.get_session(tx.conn, session.id)
        assert settled is not None
        return settled

    return perform(ctx, action, work, audited=False)


def check_session(ctx: Context, session_id: int) -> AccessSession:
    """The nurse's own session now: still open, or how it ended (the session window asks)."""
    return _settled(ctx, "list_own_sessions", session_id)


def record_sections_viewed(ctx: Context, session_id: int, sections: object) -> AccessSession:
    """Tick the parts of the GP record looked at; only those the agreement covers, and only
    while the session is open."""
    _settled(ctx, "record_sections_viewed", session_id)

    def work(tx: Tx) -> AccessSession:
        session = _own_open_session(tx, session_id)
        picked = v.choices("sections", sections, Section)
        agreement = repo.get_agreement(tx.conn, session.agreement_id or 0)
        allowed = agreement.sections if agreement else ()
        outside = [s for s in picked if s not in allowed]
        if outside:
            names = ", ".join(s.label.lower() for s in allowed)
            raise ValidationError(
                "sections", f"only parts of the record the agreement covers: {names}"
            )
        added = repo.add_sections(tx.conn, session.id, picked, tx.now)
        tx.details.update(session_id=session.id, sections=[s.value for s in added])
        updated = repo.get_session(tx.conn, session.id)
        assert updated is not None
        return updated

    return perform(ctx, "record_sections_viewed", work)


def close_access_session(ctx: Context, session_id: int) -> AccessSession:
    _settled(ctx, "close_access_session", session_id)

    def work(tx: Tx) -> AccessSession:
        session = _own_open_session(tx, session_id)
        repo.close_session(tx.conn, session.id, tx.now, CloseKind.CLOSED)
        tx.details.update(
            session_id=session.id,
            sections=[s.value for s in session.sections],
            minutes=round((tx.now - session.opened_at).total_seconds() / 60, 1),
        )
        updated = repo.get_session(tx.conn, session.id)
        assert updated is not None
        return updated

    return perform(ctx, "close_access_session", work)


def close_stale_sessions(ctx: Context) -> list[int]:
    """Close every session left open past the limit (flagged), or that the rules stopped
    allowing by themselves (a last day passed, a discharge time reached), each at the moment it
    ended."""

    def work(tx: Tx) -> list[int]:
        return _settle(tx, repo.open_sessions(tx.conn))

    return perform(ctx, "close_stale_sessions", work, audited=False)


def log_gp_contact(
    ctx: Context,
    resident_id: int,
    spoke_to: str,
    reason: str,
    outcome: str,
    refusal_id: int | None = None,
) -> int:
    """The fallback when access is not allowed: a phone call to the GP practice, recorded."""

    def work(tx: Tx) -> int:
        rid = require_resident(tx.conn, resident_id)
        resident = repo.get_resident(tx.conn, rid)
        assert resident is not None
        if refusal_id is not None and not (
            v.row_id(refusal_id) and repo.refusal_exists(tx.conn, refusal_id)
        ):
            raise NotFound("refusal_id", "the number of a recorded refusal, or none")
        contact_id = repo.insert_gp_contact(
            tx.conn,
            resident_id=rid,
            staff_id=tx.staff.id,
            practice_id=resident.practice_id,
            at=tx.now,
            spoke_to=v.single_line("spoke_to", spoke_to, max_len=120),
            reason=v.text("reason", reason, max_len=1000),
            outcome=v.text("outcome", outcome, max_len=2000),
            refusal_id=refusal_id,
        )
        tx.resident_id = rid
        tx.details.update(
            contact_id=contact_id, refusal_id=refusal_id, practice_id=resident.practice_id
        )
        return contact_id

    return perform(ctx, "log_gp_contact", work)


def my_sessions_today(ctx: Context) -> list[AccessSession]:
    def work(tx: Tx) -> list[AccessSession]:
        return repo.sessions_for_staff(tx.conn, tx.staff.id, v.day_start(v.uk_date(tx.now)))

    return read(ctx, "list_own_sessions", work)
