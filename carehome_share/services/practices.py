"""GP practices and the data sharing agreements the home signs with them. Managers only."""

from dataclasses import replace

from carehome_share.domain import validation as v
from carehome_share.domain.errors import NotFound, ValidationError
from carehome_share.domain.identifiers import parse_ods_code
from carehome_share.domain.model import Agreement, Practice, Purpose, Section
from carehome_share.services.access import end_sessions_it_affects
from carehome_share.services.context import Context, Tx, perform, read
from carehome_share.store import repo


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


def practice_id_for(conn, ods_code: object) -> int:
    practice = repo.find_practice(conn, parse_ods_code(ods_code))
    if practice is None:
        raise NotFound("ods_code", f"a GP practice already added (none has the code {ods_code})")
    return practice.id


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
