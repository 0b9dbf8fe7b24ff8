"""Residents and their stays: added, admitted, discharged, readmitted, found."""

from dataclasses import dataclass, replace
from datetime import date

from carehome_share.domain import validation as v
from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import check_chi_date_of_birth, parse_nhs_number
from carehome_share.domain.model import Resident, ResidentRecord, Stay, StayKind
from carehome_share.domain.permissions import FINDS_FORMER_RESIDENTS
from carehome_share.services.access import end_sessions_it_affects
from carehome_share.services.context import UNSET, Context, Tx, perform, read, require_resident
from carehome_share.services.practices import registering_practice_id
from carehome_share.store import repo
from carehome_share.store.repo import ResidentListing


def _date_of_birth(value: object, today: date) -> date:
    born = v.as_date("date_of_birth", value)
    assert born is not None
    if born > today or born.year < today.year - 125:
        raise ValidationError("date_of_birth", "a date in the past 125 years")
    return born


def add_resident(
    ctx: Context,
    nhs_number: str,
    given_name: str,
    family_name: str,
    date_of_birth: object,
    ods_code: str,
    room: str = "",
) -> Resident:
    """Register a resident with their GP practice. Admission is a separate step."""

    def work(tx: Tx) -> Resident:
        resident = Resident(
            id=0,
            nhs_number=parse_nhs_number(nhs_number, test_range=ctx.vault.purpose == "demo"),
            given_name=v.single_line("given_name", given_name, max_len=80),
            family_name=v.single_line("family_name", family_name, max_len=80),
            date_of_birth=_date_of_birth(date_of_birth, v.uk_date(tx.now)),
            practice_id=registering_practice_id(tx.conn, ods_code),
            room=v.single_line("room", room, max_len=20, required=False),
        )
        check_chi_date_of_birth(resident.nhs_number, resident.date_of_birth)
        if same := repo.find_resident_by_nhs(tx.conn, resident.nhs_number):
            raise ValidationError(
                "nhs_number",
                f"this NHS number is already registered here ({same.full_name}, born "
                f"{same.date_of_birth:%d/%m/%Y}, resident {same.id})",
            )
        resident = replace(resident, id=repo.insert_resident(tx.conn, resident, tx.now))
        tx.resident_id = resident.id
        tx.details.update(nhs_number=resident.nhs_number, practice_id=resident.practice_id)
        return resident

    return perform(ctx, "add_resident", work)


def update_resident(
    ctx: Context,
    resident_id: int,
    *,
    given_name: object = UNSET,
    family_name: object = UNSET,
    date_of_birth: object = UNSET,
    ods_code: object = UNSET,
    room: object = UNSET,
) -> Resident:
    """Correct details, move room, or change the registered GP practice."""

    def work(tx: Tx) -> Resident:
        resident = repo.get_resident(tx.conn, require_resident(tx.conn, resident_id))
        assert resident is not None
        end_sessions_it_affects(tx, resident_id=resident.id)  # a new GP practice, say
        changes: dict[str, object] = {}
        if given_name is not UNSET:
            changes["given_name"] = v.single_line("given_name", given_name, max_len=80)
        if family_name is not UNSET:
            changes["family_name"] = v.single_line("family_name", family_name, max_len=80)
        if date_of_birth is not UNSET:
            born = _date_of_birth(date_of_birth, v.uk_date(tx.now))
            check_chi_date_of_birth(resident.nhs_number, born, "date_of_birth")
            changes["date_of_birth"] = born
        if ods_code is not UNSET:
            changes["practice_id"] = registering_practice_id(
                tx.conn, ods_code, resident.practice_id
            )
        if room is not UNSET:
            changes["room"] = v.single_line("room", room, max_len=20, required=False)
        updated = replace(resident, **changes)  # type: ignore[arg-type]
        repo.update_resident(tx.conn, updated)
        tx.details["changed"] = sorted(changes)
        return updated

    return perform(ctx, "update_resident", work, resident_id=v.row_id(resident_id))


def admit(
    ctx: Context, resident_id: int, at: object = None, kind: StayKind | str = StayKind.LONG_TERM
) -> Stay:
    """Start a stay (long-term or respite). At = now unless given; not while already resident."""

    def work(tx: Tx) -> Stay:
        rid = require_resident(tx.conn, resident_id)
        admitted_at = tx.now if at is None else v.as_instant("admitted_at", at)
        stay_kind = v.choice("kind", kind, StayKind)
        for stay in repo.stays(tx.conn, rid):
            if stay.discharged_at is None:
                raise ValidationError("admitted_at", "a discharge of the current stay first")
            if admitted_at < stay.discharged_at:
                raise ValidationError(
                    "admitted_at", "a time after the end of the resident's previous stays"
                )
        stay = Stay(
            repo.insert_stay(tx.conn, rid, stay_kind, admitted_at), rid, stay_kind, admitted_at
        )
        tx.details.update(stay_id=stay.id, kind=stay_kind.value, admitted_at=str(admitted_at))
        return stay

    return perform(ctx, "admit_resident", work, resident_id=v.row_id(resident_id))


def discharge(ctx: Context, resident_id: int, at: object = None) -> Stay:
    """End the current stay. Consent stays on record for a readmission. A session open on the
    resident's record ends when it is written (or, for a discharge set later, at that time)."""

    def work(tx: Tx) -> Stay:
        rid = require_resident(tx.conn, resident_id)
        end_sessions_it_affects(tx, resident_id=rid)
        discharged_at = tx.now if at is None else v.as_instant("discharged_at", at)
        current = [s for s in repo.stays(tx.conn, rid) if s.discharged_at is None]
        if not current:
            raise ValidationError("resident_id", "a resident who is currently admitted")
        stay = current[0]
        if discharged_at <= stay.admitted_at:
            raise ValidationError("discharged_at", "a time after the admission")
        repo.set_discharged(tx.conn, stay.id, discharged_at)
        tx.details.update(stay_id=stay.id, discharged_at=str(discharged_at))
        return replace(stay, discharged_at=discharged_at)

    return perform(ctx, "discharge_resident", work, resident_id=v.row_id(resident_id))


def find_residents(ctx: Context, query: str = "", limit: int = 200) -> list[ResidentListing]:
    """Search by name, room or NHS number; current residents first, and only they for a role
    that may not find former ones. Non-clinical details only."""
    needle = v.single_line("query", query, max_len=80, required=False)
    return read(
        ctx,
        "find_residents",
        lambda tx: repo.search_residents(
            tx.conn, needle, tx.now, limit, current_only=tx.role not in FINDS_FORMER_RESIDENTS
        ),
    )


@dataclass(frozen=True)
class ResidentDetails:
    record: ResidentRecord
    current_stay: Stay | None


def resident_details(ctx: Context, resident_id: int) -> ResidentDetails:
    """A resident's record with stays, consent history and the practice's agreements."""

    def work(tx: Tx) -> ResidentDetails:
        record = repo.resident_record(tx.conn, require_resident(tx.conn, resident_id))
        assert record is not None
        current = next((s for s in record.stays if s.covers(tx.now)), None)
        return ResidentDetails(record, current)

    return read(ctx, "view_consent", work, resident_id=v.row_id(resident_id))


def resident_id_for(ctx: Context, nhs_number: str) -> int:
    """The resident with this NHS number (for the command line and scripts). A number from the
    test range is looked up anywhere: a home's database has none to find, unless one was
    registered before the test range was kept to demo databases."""
    digits = parse_nhs_number(nhs_number, test_range=True)
    resident = repo.find_resident_by_nhs(ctx.conn, digits)
    if resident is None:
        raise ValidationError("nhs_number", f"the NHS number of a resident here (no {nhs_number})")
    return resident.id
