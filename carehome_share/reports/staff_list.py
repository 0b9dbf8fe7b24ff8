"""The authorised staff list for a GP practice: the nurses who may open its patients' records,
with NMC PINs and register check dates, and who joined or left in the period."""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from carehome_share.domain.model import Role
from carehome_share.domain.validation import uk_date
from carehome_share.reports.page import (
    LANDSCAPE,
    TITLE,
    Letterhead,
    blanks,
    build,
    bullets,
    chain_head,
    facts,
    heading,
    para,
    signing_key,
    spacer,
    uk_day,
)
from carehome_share.reports.rows import FLAG, LONG, REFUSED, agreement_text
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import StaffLine, StaffList

_WIDTH = LANDSCAPE[0] - 30 * mm
# The Data Security and Protection Toolkit expects information-governance training every year
_TRAINING_YEAR = timedelta(days=365)


def _training(on: date | None, today: date) -> tuple[str, bool]:
    """The IG training date, and whether it is missing or over a year old."""
    if on is None:
        return "NONE RECORDED", True
    if today - on > _TRAINING_YEAR:
        return f"{uk_day(on)}\nOVER A YEAR AGO", True
    return uk_day(on), False


def _member_row(m: StaffLine, today: date) -> Row:
    s = m.staff
    may = "Yes" if not m.not_authorised else "NO: " + "; ".join(m.not_authorised)
    training, stale = _training(s.ig_training_on, today)
    flagged = bool(m.not_authorised) or stale
    others = sorted(r.label for r in s.roles if r is not Role.NURSE)
    return Row(
        [
            f"{FLAG} {s.full_name}" if flagged else s.full_name,
            "Registered nurse" + "".join(f"\nalso {r.lower()}" for r in others),
            s.nmc_pin or "-",
            uk_day(s.nmc_checked_on),
            uk_day(s.nmc_expires_on),
            training,
            uk_day(s.confidentiality_signed_on, "NONE RECORDED"),
            uk_day(m.joined),
            uk_day(m.left),
            may,
        ],
        REFUSED if m.not_authorised else LONG if stale else None,
    )


def _dated(members: Sequence[StaffLine], left: bool, when_empty: str) -> Flowable:
    return table(
        [
            Column("Name", 0.35),
            Column("NMC PIN", 0.2),
            Column("Left on" if left else "Joined on", 0.2),
        ],
        (
            Row([m.staff.full_name, m.staff.nmc_pin or "-", uk_day(m.left if left else m.joined)])
            for m in members
        ),
        when_empty,
    )


def write_staff_list(staff: StaffList, out: BinaryIO) -> int:
    practice = staff.practice
    period = f"{uk_day(staff.first_day)} to {uk_day(staff.last_day)}"
    head = Letterhead(
        staff.printed.home_name,
        f"Authorised staff: {practice.name}, {period}",
        staff.printed.at,
        signer=signer_of(staff.printed),
    )
    today = uk_date(staff.printed.at)
    agreements = [agreement_text(a, today) for a in staff.agreements] or [
        "No data sharing agreement was in force in this period."
    ]
    story = [
        para(f"Staff authorised to open GP records: {practice.name} ({practice.ods_code})", TITLE),
        facts(
            [
                ("Period", period),
                ("Prepared by", f"{staff.printed.by} at {staff.printed.home_name}"),
                *[("Data sharing agreement", text) for text in agreements],
            ],
            widths=(40 * mm, _WIDTH - 40 * mm),
        ),
        *bullets(
            [
                "Only registered nurses, each with a personal login, may open a resident's GP "
                "record, and only while their NMC registration has been checked and is current.",
                f"'May open now' is as of {uk_day(today)}, checked by the same "
                "rules the app applies at each access.",
                "Information-governance training is expected every year (Data Security and "
                "Protection Toolkit); training over a year old, or none recorded, is marked. "
                "A nurse who also holds another role (e.g. manager) logs in under one role at a "
                "time and may open a GP record only when working as a nurse.",
                f"Rows marked {FLAG} need attention (also shaded, for colour prints).",
            ]
        ),
        *heading("Nurses with an account during the period"),
        table(
            [
                Column("Name", 0.13),
                Column("Roles", 0.11),
                Column("NMC PIN", 0.07),
                Column("NMC checked", 0.08),
                Column("NMC valid until", 0.08),
                Column("IG training", 0.1),
                Column("Confidentiality agreement", 0.12),
                Column("Joined", 0.08),
                Column("Left", 0.06),
                Column("May open now", 0.17),
            ],
            (_member_row(m, today) for m in staff.members),
            "No nurse held an account in this period.",
        ),
        *heading("Joined in the period"),
        _dated(staff.joiners, False, "Nobody joined in this period."),
        *heading("Left in the period"),
        _dated(staff.leavers, True, "Nobody left in this period."),
        spacer(),
        chain_head(staff.head.seq, staff.head.hash),
        spacer(),
        signing_key(staff.fingerprint),
        *heading("Checked by the GP practice"),
        blanks(["Name", "Role", "Signature", "Date"], _WIDTH),
    ]
    return build(out, head, story, LANDSCAPE)
