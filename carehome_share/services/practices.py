"""GP practices and the data sharing agreements the home signs with them. Managers only."""

from dataclasses import replace

from carehome_share.domain import validation as v
from carehome_share.domain.errors import CarehomeError, NotFound, ValidationError
from carehome_share.domain.identifiers import parse_ods_code
from carehome_share.domain.model import Agreement, Practice, Purpose, Section
from carehome_share.services.access import end_sessions_it_affects
from carehome_share.services.context import UNSET, Context, Tx, perform, read
from carehome_share.store import practice_log, repo


def add_practice(ctx: Context, name: str, ods_code: str, phone: str = "") -> Practice:
    def work(tx: Tx) -> Practice:
        practice = Practice(
            id=0,
            name=v.single_line("name", name, max_len=120),
            ods_code=parse_ods_code(ods_code),
            phone=v.single_line("phone", phone, max_len=30, required=False),
        )
        if repo.find_practice(tx.conn, practice.ods_code):
            raise ValidationError(
                "ods_code", f"a practice not already added ({practice.ods_code} is)"
            )
        practice = replace(
            practice,
            id=repo.insert_practice(tx.conn, practice.name, practice.ods_code, practice.phone),
        )
        tx.details.update(practice_id=practice.id, name=practice.name, ods_code=practice.ods_code)
        return practice

    return perform(ctx, "add_practice", work)


def _practice_for(conn, ods_code: object) -> Practice:
    practice = repo.find_practice(conn, parse_ods_code(ods_code))
    if practice is None:
        raise NotFound("ods_code", f"a GP practice already added (none has the code {ods_code})")
    return practice


def practice_id_for(conn, ods_code: object) -> int:
    return _practice_for(conn, ods_code).id


def registering_practice_id(conn, ods_code: object, current_id: int | None = None) -> int:
    """The practice a resident is registered with: one marked inactive is not offered anew,
    while a resident already registered with it keeps it."""
    practice = _practice_for(conn, ods_code)
    if not practice.active and practice.id != current_id:
        raise ValidationError(
            "ods_code", f"a GP practice in use ({practice.name} is marked inactive)"
        )
    return practice.id


def find_practice(ctx: Context, ods_code: object) -> Practice:
    return read(ctx, "view_practices", lambda tx: _practice_for(tx.conn, ods_code))


# A practice's own entries: made about it, but nothing a report to it must keep counting.
_OWN_ACTIONS = ("add_practice", "update_practice", "deactivate_practice", "activate_practice")


def _existing_practice(tx: Tx, practice_id: object) -> Practice:
    found = v.row_id(practice_id)
    practice = None if found is None else repo.get_practice(tx.conn, found)
    if practice is None:
        raise NotFound("practice_id", f"an existing GP practice (none has id {practice_id})")
    return practice


def _uses(tx: Tx, practice: Practice) -> str:
    """What refers to the practice, in words ("" when nothing does)."""
    residents, agreements = repo.practice_records(tx.conn, practice.id)
    entries = practice_log.entries_besides(tx.conn, practice.id, _OWN_ACTIONS)
    counted = [
        f"{n} {one if n == 1 else many}"
        for n, one, many in (
            (residents, "resident", "residents"),
            (agreements, "data sharing agreement", "data sharing agreements"),
            (entries, "audit entry", "audit entries"),
        )
        if n
    ]
    if entries:
        counted[-1] += " about its patients or reports"
    return " and ".join(", ".join(counted).rsplit(", ", 1))


def update_practice(
    ctx: Context,
    practice_id: int,
    *,
    name: object = UNSET,
    ods_code: object = UNSET,
    phone: object = UNSET,
) -> Practice:
    """Correct a practice's name, phone or ODS code. The code only while nothing refers to the
    practice: entries about its patients and its reports are numbered under it."""

    def work(tx: Tx) -> Practice:
        practice = _existing_practice(tx, practice_id)
        changes: dict[str, object] = {}
        if name is not UNSET:
            changes["name"] = v.single_line("name", name, max_len=120)
        if phone is not UNSET:
            changes["phone"] = v.single_line("phone", phone, max_len=30, required=False)
        if ods_code is not UNSET and parse_ods_code(ods_code) != practice.ods_code:
            code = parse_ods_code(ods_code)
            if repo.find_practice(tx.conn, code):
                raise ValidationError("ods_code", f"a practice not already added ({code} is)")
            uses = _uses(tx, practice)
            if uses:
                raise ValidationError(
                    "ods_code",
                    f"the code it has ({practice.ods_code}): {uses} refer to it under that "
                    "code. If the practice's code really changed, add it as a new practice "
                    "and mark this one inactive",
                )
            practice_log.unindex(tx.conn, practice.id)  # only its own entries: it starts anew
            changes["ods_code"] = code
        updated = replace(practice, **changes)  # type: ignore[arg-type]
        repo.update_practice(tx.conn, updated)
        tx.details.update(
            practice_id=practice.id, ods_code=updated.ods_code, changed=sorted(changes)
        )
        if "ods_code" in changes:
            tx.details["ods_code_was"] = practice.ods_code
        return updated

    return perform(ctx, "update_practice", work)


def delete_practice(ctx: Context, practice_id: int) -> Practice:
    """Remove a practice added by mistake, while nothing refers to it."""

    def work(tx: Tx) -> Practice:
        practice = _existing_practice(tx, practice_id)
        uses = _uses(tx, practice)
        if uses:
            raise CarehomeError(
                f"{practice.name} ({practice.ods_code}) cannot be deleted: {uses} refer to it. "
                "Mark it inactive instead: it is then no longer offered for new residents, and "
                "its records and reports stay."
            )
        practice_log.unindex(tx.conn, practice.id)
        repo.delete_practice(tx.conn, practice.id)
        # the code only as "was": the entry is about no practice now, so it takes no number
        tx.details.update(
            practice_id=practice.id, name=practice.name, ods_code_was=practice.ods_code
        )
        return practice

    return perform(ctx, "delete_practice", work)


def set_practice_active(ctx: Context, practice_id: int, active: bool) -> Practice:
    """Mark a practice inactive (no longer offered for new residents or a change of practice;
    its residents keep it and its reports still work), or active again."""

    def work(tx: Tx) -> Practice:
        updated = replace(_existing_practice(tx, practice_id), active=active)
        repo.update_practice(tx.conn, updated)
        tx.details.update(practice_id=updated.id, ods_code=updated.ods_code)
        return updated

    return perform(ctx, "activate_practice" if active else "deactivate_practice", work)


def add_agreement(
    ctx: Context,
    ods_code: str,
    *,
    starts_on: object,
    ends_on: object = None,
    review_on: object = None,
    purposes: object,
    sections: object,
    home_signatory: str,
    practice_signatory: str,
) -> Agreement:
    """Record a signed data sharing agreement: which purposes and which parts of the record."""

    def work(tx: Tx) -> Agreement:
        agreement = Agreement(
            id=0,
            practice_id=practice_id_for(tx.conn, ods_code),
            starts_on=v.as_date("starts_on", starts_on),  # type: ignore[arg-type]
            ends_on=v.as_date("ends_on", ends_on, required=False),
            review_on=v.as_date("review_on", review_on, required=False),
            purposes=tuple(v.choices("purposes", _listed(purposes), Purpose)),
            sections=tuple(v.choices("sections", _listed(sections), Section)),
            home_signatory=v.single_line("home_signatory", home_signatory, max_len=120),
            practice_signatory=v.single_line("practice_signatory", practice_signatory, max_len=120),
        )
        if agreement.ends_on and agreement.ends_on < agreement.starts_on:
            raise ValidationError("ends_on", "a date on or after the start date")
        if agreement.review_on and agreement.review_on < agreement.starts_on:
            raise ValidationError("review_on", "a date on or after the start date")
        agreement = replace(agreement, id=repo.insert_agreement(tx.conn, agreement, tx.now))
        tx.details.update(
            agreement_id=agreement.id,
            practice_id=agreement.practice_id,
            starts_on=str(agreement.starts_on),
            ends_on=str(agreement.ends_on) if agreement.ends_on else None,
            purposes=[p.value for p in agreement.purposes],
            sections=[s.value for s in agreement.sections],
        )
        return agreement

    return perform(ctx, "add_agreement", work)


def _listed(value: object) -> object:
    """Accept "a,b,c" from a command line as well as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def end_agreement(ctx: Context, agreement_id: int, ends_on: object) -> Agreement:
    """An agreement ends (terminated or not renewed): access stops after this day."""

    def work(tx: Tx) -> Agreement:
        found = v.row_id(agreement_id)
        agreement = None if found is None else repo.get_agreement(tx.conn, found)
        if agreement is None:
            raise NotFound("agreement_id", f"an existing agreement (none has id {agreement_id})")
        end_sessions_it_affects(tx, practice_id=agreement.practice_id)
        last_day = v.as_date("ends_on", ends_on)
        if last_day < agreement.starts_on:  # type: ignore[operator]
            raise ValidationError("ends_on", "a date on or after the agreement's start date")
        repo.set_agreement_end(tx.conn, agreement.id, last_day)  # type: ignore[arg-type]
        tx.details.update(agreement_id=agreement.id, ends_on=str(last_day))
        return replace(agreement, ends_on=last_day)

    return perform(ctx, "end_agreement", work)


def list_practices(ctx: Context) -> list[Practice]:
    return read(ctx, "view_practices", lambda tx: repo.list_practices(tx.conn))


def list_agreements(ctx: Context, ods_code: str | None = None) -> list[Agreement]:
    def work(tx: Tx) -> list[Agreement]:
        practice_id = practice_id_for(tx.conn, ods_code) if ods_code else None
        return repo.list_agreements(tx.conn, practice_id)

    return read(ctx, "view_practices", work)
