"""One-off requests for residents' information (domain/disclosure.py): logged by whoever
receives one, checked (identity, the written request) and decided by the manager or the
information governance lead. Every step is one transaction and one audit entry, bound to the
chain with the rows it wrote."""

from dataclasses import replace

from carehome_share.domain import validation as v
from carehome_share.domain.disclosure import (
    DisclosureDecision,
    DisclosureRequest,
    LawfulBasis,
    Outcome,
    Requester,
    check_decision,
    require_undecided,
    statutory_due,
)
from carehome_share.domain.errors import NotFound, ValidationError
from carehome_share.services.context import Context, Tx, perform, read, require_resident
from carehome_share.store import disclosures as store
from carehome_share.store.vault import Connection

MAX_DOCUMENT_BYTES = 5 * 2**20  # a scanned letter or a PDF; larger files stay on paper
_LONG = 2000  # what is asked, why, reasons, what was disclosed


def log_request(
    ctx: Context,
    *,
    requester: Requester | str,
    organisation: str,
    person: str,
    resident_ids: object,
    asked: str,
    why: str,
    basis: LawfulBasis | str,
    received_on: object = None,
    reference: str = "",
    identity_check: str = "",
    in_writing: bool = False,
    due_on: object = None,
) -> DisclosureRequest:
    """Record a request as received: who asks, about whom, what and why, on what basis. Any
    member of staff who receives one logs it; the deadline is the law's (one month for a
    subject access request) unless an earlier one is given (a court order's)."""

    def work(tx: Tx) -> DisclosureRequest:
        today = v.uk_date(tx.now)
        received = v.as_date("received_on", received_on, required=False) or today
        if received > today:
            raise ValidationError("received_on", "a date that is not in the future")
        if not isinstance(in_writing, bool):
            raise ValidationError("in_writing", "yes or no")
        ids = _resident_ids(tx.conn, resident_ids)
        claimed = v.choice("basis", basis, LawfulBasis)
        deadlines = [
            d
            for d in (v.as_date("due_on", due_on, required=False), statutory_due(claimed, received))
            if d is not None
        ]
        request = DisclosureRequest(
            id=0,
            received_on=received,
            requester=v.choice("requester", requester, Requester),
            organisation=v.single_line("organisation", organisation, max_len=120),
            person=v.single_line("person", person, max_len=120),
            reference=v.single_line("reference", reference, max_len=80, required=False),
            identity_check=v.text("identity_check", identity_check, required=False),
            in_writing=in_writing,
            document_name="",
            asked=v.text("asked", asked, max_len=_LONG),
            why=v.text("why", why, max_len=_LONG),
            basis=claimed,
            due_on=min(deadlines, default=None),  # the earlier of theirs and the law's
            logged_by=tx.staff.full_name,
            logged_at=tx.now,
            resident_ids=ids,
        )
        request = replace(request, id=store.insert_request(tx.conn, request, tx.staff.id))
        _about(tx, request)
        return request

    return perform(ctx, "log_disclosure_request", work)


def record_checks(
    ctx: Context, request_id: int, *, identity_check: str, in_writing: bool
) -> DisclosureRequest:
    """How the requester's identity was verified, and whether the request is now in writing."""

    def work(tx: Tx) -> DisclosureRequest:
        request = _undecided(tx.conn, request_id)
        if not isinstance(in_writing, bool):
            raise ValidationError("in_writing", "yes or no")
        checked = v.text("identity_check", identity_check, required=False)
        store.set_checks(tx.conn, request.id, checked, in_writing or bool(request.document_name))
        _about(tx, request)
        tx.details.update(identity_check=checked, in_writing=in_writing)
        return _get(tx.conn, request.id)

    return perform(ctx, "update_disclosure_request", work)


def attach_request_document(
    ctx: Context, request_id: int, name: str, data: bytes
) -> DisclosureRequest:
    """Keep the written request inside the encrypted database (it is then in writing)."""

    def work(tx: Tx) -> DisclosureRequest:
        request = _undecided(tx.conn, request_id)
        file_name = v.single_line("document", name, max_len=120)
        if not isinstance(data, bytes) or not data:
            raise ValidationError("document", "a file with something in it")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ValidationError(
                "document",
                f"a file of at most {MAX_DOCUMENT_BYTES // 2**20} MB (this one is "
                f"{len(data) / 2**20:.1f} MB): keep larger ones on paper and note the reference",
            )
        store.set_document(tx.conn, request.id, file_name, data)
        _about(tx, request)
        tx.details.update(document=file_name, document_bytes=len(data))
        return _get(tx.conn, request.id)

    return perform(ctx, "update_disclosure_request", work)


def decide(
    ctx: Context,
    request_id: int,
    outcome: Outcome | str,
    *,
    reasons: str,
    basis: LawfulBasis | str | None = None,
    emergency: str = "",
    disclosed: str = "",
    sent_how: str = "",
    sent_on: object = None,
) -> DisclosureRequest:
    """Decide a request: disclose in full or in part, refuse, or ask for more first. The
    reasons are kept with the decision whatever it is; a disclosure says what was shared."""

    def work(tx: Tx) -> DisclosureRequest:
        request = _get(tx.conn, request_id)
        chosen = v.choice("outcome", outcome, Outcome)
        relied_on = request.basis if basis is None else v.choice("basis", basis, LawfulBasis)
        decision = DisclosureDecision(
            id=0,
            request_id=request.id,
            outcome=chosen,
            basis=relied_on,
            reasons=v.text("reasons", reasons, max_len=_LONG, required=False),
            emergency=v.text("emergency", emergency, max_len=_LONG, required=False),
            disclosed=v.text("disclosed", disclosed, max_len=_LONG, required=False),
            sent_how=v.single_line("sent_how", sent_how, max_len=120, required=False),
            sent_on=v.as_date("sent_on", sent_on, required=False),
            decided_by=tx.staff.full_name,
            decided_at=tx.now,
        )
        check_decision(
            request, chosen, relied_on, decision.reasons, decision.emergency, decision.disclosed
        )
        if chosen.discloses and not decision.sent_how:
            raise ValidationError("sent_how", "how it was sent (secure email, by hand, post...)")
        if decision.sent_on and decision.sent_on > v.uk_date(tx.now):
            raise ValidationError("sent_on", "a date that is not in the future")
        decision_id = store.insert_decision(tx.conn, decision, tx.staff.id)
        _about(tx, request)
        tx.details.update(
            decision_id=decision_id,
            outcome=chosen.value,
            basis=relied_on.value,
            reasons=decision.reasons,
            **({"emergency": decision.emergency} if decision.emergency else {}),
            **({"disclosed": decision.disclosed} if chosen.discloses else {}),
        )
        return _get(tx.conn, request.id)

    return perform(ctx, "decide_disclosure", work)


def list_requests(
    ctx: Context, first_day: object = None, last_day: object = None
) -> list[DisclosureRequest]:
    """The requests received on days first..last (all without them), oldest first."""

    def work(tx: Tx) -> list[DisclosureRequest]:
        first = v.as_date("first_day", first_day, required=False)
        last = v.as_date("last_day", last_day, required=False)
        if (first is None) != (last is None):
            raise ValidationError(
                "last_day" if last is None else "first_day", "both days or neither"
            )
        if first is not None and last is not None and last < first:
            raise ValidationError("last_day", "a date on or after the first day")
        period = (first, last) if first is not None and last is not None else None
        return store.requests(tx.conn, received=period)

    return read(ctx, "view_disclosures", work)


def get_request(ctx: Context, request_id: int) -> DisclosureRequest:
    return read(ctx, "view_disclosures", lambda tx: _get(tx.conn, request_id))


def request_document(ctx: Context, request_id: int) -> tuple[str, bytes]:
    """The written request as kept (its file name and bytes): reading it is audited."""

    def work(tx: Tx) -> tuple[str, bytes]:
        request = _get(tx.conn, request_id)
        kept = store.document(tx.conn, request.id)
        if kept is None:
            raise NotFound(
                "request_id", f"a request with its document kept (request {request.id} has none)"
            )
        tx.details.update(request_id=request.id, document=kept[0])
        return kept

    return perform(ctx, "view_disclosures", work)


def _resident_ids(conn: Connection, value: object) -> tuple[int, ...]:
    if isinstance(value, int | str) or not hasattr(value, "__iter__"):
        raise ValidationError("resident_ids", "a list of the residents the request is about")
    ids = sorted({require_resident(conn, r) for r in value})  # type: ignore[attr-defined]
    if not ids:
        raise ValidationError("resident_ids", "at least one resident the request is about")
    return tuple(ids)


def _get(conn: Connection, request_id: object) -> DisclosureRequest:
    number = v.row_id(request_id)
    found = store.requests(conn, request_id=number) if number is not None else []
    if not found:
        raise NotFound("request_id", f"an existing disclosure request (none has id {request_id})")
    return found[0]


def _undecided(conn: Connection, request_id: object) -> DisclosureRequest:
    request = _get(conn, request_id)
    require_undecided(request)
    return request


def _about(tx: Tx, request: DisclosureRequest) -> None:
    """The audit entry names the request and, when it is about one resident, the resident."""
    tx.details.update(request_id=request.id, resident_ids=list(request.resident_ids))
    if len(request.resident_ids) == 1:
        tx.resident_id = request.resident_ids[0]
