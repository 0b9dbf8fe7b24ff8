"""The record of one data sharing agreement, for the home and the GP practice to keep: what may
be viewed and why, the rules the app applies to every access under it, and the fingerprint of
the key the home signs its documents with, which the practice records once to check every
report and export against."""

from typing import BinaryIO

from reportlab.lib.units import mm

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
from carehome_share.reports.signature import signer_of
from carehome_share.services.reports import AgreementRecord

_WIDTH = PORTRAIT[0] - 30 * mm


def write_agreement(record: AgreementRecord, out: BinaryIO) -> int:
    a, practice, home = record.agreement, record.practice, record.printed.home_name
    minutes = record.settings
    head = Letterhead(
        home,
        f"Data sharing agreement: {practice.name}",
        record.printed.at,
        signer=signer_of(record.printed),
    )
    story = [
        para(f"Data sharing agreement: {home} and {practice.name}", TITLE),
        facts(
            [
                ("Care home", record.printed.home),
                ("GP practice", f"{practice.name} (ODS code {practice.ods_code})"),
                ("In force from", uk_day(a.starts_on)),
                (
                    "Last day in force",
                    uk_day(a.ends_on) if a.ends_on else "no end date: until it is ended",
                ),
                ("Review by", uk_day(a.review_on, "no review date set")),
                ("Signed for the home by", a.home_signatory),
                ("Signed for the practice by", a.practice_signatory),
                ("Recorded as", f"agreement {a.id} in the home's records"),
            ],
            widths=(48 * mm, _WIDTH - 48 * mm),
        ),
        *heading("Why records may be viewed (purposes)"),
        *bullets([p.label for p in a.purposes]),
        *heading("Which parts of the GP record may be viewed"),
        *bullets([s.label for s in a.sections]),
        para("No other part of the record may be viewed under this agreement."),
        *heading("What the home's system enforces at every access"),
        *bullets(
            [
                "Only registered nurses, each with a personal login, whose NMC registration the "
                "home has checked and which is current, may open a resident's GP record.",
                "Only while the person is resident: from admission to discharge.",
                "Only with the resident's explicit consent, or a decision by their attorney, "
                "deputy or a recorded best-interests decision; never after a refusal, an "
                "objection or a withdrawal. Without consent the home phones the practice "
                "instead, and the call is recorded.",
                "Only for the purposes and parts of the record above, each access with a written "
                "reason; an access session closes itself after "
                f"{minutes['session_limit_minutes']} minutes, and an unattended screen locks "
                f"after {minutes['idle_lock_minutes']} minutes.",
                "Every access, every refusal and every call is written to the home's audit log, "
                "which cannot be changed without it showing. The practice receives a signed GP "
                "access report at least every "
                f"{minutes['report_due_days']} days; the home's manager is reminded when one is "
                "due.",
            ]
        ),
        *heading("Checking the home's documents"),
        para(
            "Every document the home prints or exports for the practice is signed with the key "
            "below. The practice checks a report on its own PC with carehome-share check-report "
            "(see the README section \u201cFor GP practices\u201d), comparing the fingerprint it "
            "shows with this one."
        ),
        spacer(),
        signing_key(record.fingerprint),
        spacer(),
        chain_head(record.head.seq, record.head.hash),
        *heading("Signed for the care home"),
        blanks(["Name", "Role", "Signature", "Date"], _WIDTH),
        *heading("Signed for the GP practice (fingerprint recorded)"),
        blanks(["Name", "Role", "Signature", "Date"], _WIDTH),
    ]
    return build(out, head, story, PORTRAIT)
