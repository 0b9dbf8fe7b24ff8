"""The authorised staff list for a GP practice: the nurses who may open its patients' records,
with NMC PINs and register check dates, and who joined or left in the period."""

from collections.abc import Sequence
from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from carehome_share.domain.validation import uk_date
from carehome_share.reports.page import (
    PORTRAIT,
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
from carehome_share.reports.rows import REFUSED, agreement_text
from carehome_share.reports.signature import signer_of
from carehome_share.reports.table import Column, Row, table
from carehome_share.services.reports import StaffLine, StaffList

_WIDTH = PORTRAIT[0] - 30 * mm


def _member_row(m: StaffLine) -> Row:
    s = m.staff
    may = "Yes" if not m.not_authorised else "NO: " + "; ".join(m.not_authorised)
    return Row(
        [
            s.full_name,
            s.nmc_pin or "-",
            uk_day(s.nmc_checked_on),
            uk_day(s.nmc_expires_on),
            uk_day(m.joined),
            uk_day(m.left),
            may,
        ],
        REFUSED if m.not_authorised else None,
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
        size=8,
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
    agreements = [agreement_text(a) for a in staff.agreements] or [
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
                f"'May open now' is as of {uk_day(uk_date(staff.printed.at))}, checked by the same "
                "rules the app applies at each access.",
            ]
        ),
        *heading("Nurses with an account during the period"),
        table(
            [
                Column("Name", 0.17),
                Column("NMC PIN", 0.1),
                Column("NMC checked", 0.115),
                Column("NMC valid until", 0.115),
                Column("Joined", 0.115),
                Column("Left", 0.115),
                Column("May open now", 0.27),
            ],
            (_member_row(m) for m in staff.members),
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
    return build(out, head, story, PORTRAIT)
