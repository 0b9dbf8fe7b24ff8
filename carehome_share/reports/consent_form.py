"""The consent form: what sharing the GP record means (what may be viewed, by whom, for what,
for how long, and the right to refuse or withdraw), pre-filled for a resident or blank, with
sections for the resident's own decision, a capacity assessment, a representative's decision, a
best-interests decision, and signatures."""

from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph

from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.reports.page import (
    BODY,
    HEADING,
    PORTRAIT,
    SMALL,
    SUBHEADING,
    TITLE,
    Letterhead,
    blanks,
    build,
    bullets,
    escaped,
    facts,
    para,
    spacer,
    uk_day,
)
from carehome_share.reports.signature import signer_of
from carehome_share.services.reports import ConsentForm

_WIDTH = PORTRAIT[0] - 30 * mm
_BOX = 3.6 * mm


class _Choice(Flowable):
    """A box to tick, and what ticking it means."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = Paragraph(escaped(label), BODY)

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        _, height = self.label.wrap(avail_width - 2 * _BOX, avail_height)
        self.width, self.height = avail_width, height + 5
        return self.width, self.height

    def draw(self) -> None:
        self.canv.setLineWidth(0.8)
        self.canv.rect(0, self.height - _BOX - 2, _BOX, _BOX)
        self.label.drawOn(self.canv, 2 * _BOX, 4)


def _section(title: str, *parts: Flowable) -> list[Flowable]:
    """A lettered part of the form, kept on one page."""
    return [KeepTogether([Paragraph(escaped(title), HEADING), *parts])]


def _lines(count: int, label: str = "") -> Flowable:
    return blanks([label] + [""] * (count - 1), _WIDTH, per_row=1)


def _about(form: ConsentForm) -> list[Flowable]:
    home = form.printed.home_name
    practice = form.practice.name if form.practice else "the resident's GP practice"
    agreement = form.agreement
    ends = (
        f" The agreement with the practice runs to the end of {uk_day(agreement.ends_on)}."
        if agreement and agreement.ends_on
        else ""
    )
    return [
        para(
            f"{home} and {practice} have signed a data sharing agreement. It lets the home's "
            "registered nurses look at parts of the resident's GP record on the computer, so they "
            "can give safe care without waiting for the surgery to answer the phone. We need a "
            "decision before anyone looks."
        ),
        Paragraph("What may be viewed", SUBHEADING),
        *bullets([s.label for s in form.sections]),
        Paragraph("By whom", SUBHEADING),
        para(
            f"Only registered nurses working at {home} whose registration with the Nursing and "
            "Midwifery Council (NMC) has been checked and is current, each logging in with their "
            "own account. Carers, volunteers and office staff cannot see the GP record."
        ),
        Paragraph("What for", SUBHEADING),
        *bullets([p.label for p in form.purposes]),
        para(
            "Each time, the nurse writes why. Every look is recorded: who, when, why and what was "
            "viewed. The GP practice reviews these records, and the resident or their "
            "representative may ask for a copy."
        ),
        Paragraph("For how long", SUBHEADING),
        para(
            "Until it is withdrawn, or to the end of the last day written in part E (valid "
            "until) if there is one. "
            "It is reviewed by the date in part E, and whenever the resident's circumstances "
            f"change.{ends}"
        ),
        Paragraph("The right to say no, or to change your mind", SUBHEADING),
        para(
            "Saying no is the resident's right and does not change the care they receive. Consent "
            "may be refused now, or withdrawn at any time by telling any member of staff; it takes "
            "effect at once, and a record open at that moment is closed. An objection from the resident is respected even when someone else "
            "decides for them. What counts is when a decision was made: this form, if it reaches "
            "the computer late, counts from the date it was signed, and a decision made after "
            "it still stands. Whenever the GP record may not be viewed, the nurse phones the GP "
            "practice instead, as before."
        ),
    ]


def _resident(form: ConsentForm) -> Flowable:
    r, p = form.resident, form.practice
    if r is None:
        return blanks(
            ["Name", "Date of birth", "NHS number", "Room", "GP practice", "ODS code"], _WIDTH
        )
    return facts(
        [
            ("Name", r.full_name),
            ("Date of birth", uk_day(r.date_of_birth)),
            ("NHS number", format_nhs_number(r.nhs_number)),
            ("Room", r.room or "-"),
            ("GP practice", f"{p.name} ({p.ods_code})" if p else "-"),
        ],
        widths=(40 * mm, _WIDTH - 40 * mm),
    )


def _story(form: ConsentForm) -> list[Flowable]:
    home = form.printed.home_name
    agree = "sharing the GP record as described above"
    return [
        para(f"Consent to share GP records with {home}", TITLE),
        para(
            "Please read this with the resident, and with their attorney or deputy if they have "
            "one. Ask the registered manager about anything that is not clear.",
            SMALL,
        ),
        _resident(form),
        spacer(),
        *_about(form),
        *_section(
            "A. The resident's own decision",
            _Choice(f"I agree to {agree}."),
            _Choice("I do not agree. The home will phone the GP practice when it needs to know."),
            blanks(["Signature", "Date"], _WIDTH),
        ),
        *_section(
            "B. Capacity assessment (Mental Capacity Act 2005)",
            para(
                "Only if the resident may be unable to make this decision, even with help: can "
                "they understand, retain and weigh the information above, and communicate a "
                "decision? Parts C or D may be used only when this assessment finds they cannot.",
                SMALL,
            ),
            blanks(["Assessed on", "Assessed by", "Role", "Signature"], _WIDTH),
            spacer(2 * mm),
            _Choice("The resident lacks capacity to make this decision at this time, because:"),
            _lines(3),
        ),
        *_section(
            "C. Decision by a representative",
            para(
                "Only a health and welfare attorney under a Lasting Power of Attorney registered "
                "with the Office of the Public Guardian, or a deputy appointed by the Court of "
                "Protection with authority over health decisions. The home sees the document.",
                SMALL,
            ),
            _Choice("Health and welfare attorney (LPA)"),
            _Choice("Court-appointed deputy"),
            blanks(
                ["Name", "Relationship", "Authority reference", "Document seen by"],
                _WIDTH,
            ),
            spacer(2 * mm),
            _Choice(f"As the resident's representative, I agree to {agree}."),
            _Choice("As the resident's representative, I do not agree."),
            blanks(["Signature", "Date"], _WIDTH),
        ),
        *_section(
            "D. Best-interests decision (no attorney or deputy)",
            para(
                "Made by the decision maker after consulting the people who know the resident, "
                "taking account of the resident's past and present wishes and feelings.",
                SMALL,
            ),
            blanks(["Decision maker", "Role"], _WIDTH),
            _lines(3, "People consulted (name, relationship)"),
            _lines(2, "The resident's known wishes"),
            spacer(2 * mm),
            _Choice("Sharing the GP record is in the resident's best interests."),
            _Choice("Sharing the GP record is not in the resident's best interests."),
            blanks(["Signature", "Date"], _WIDTH),
        ),
        *_section(
            "E. Witness and record",
            blanks(
                [
                    "Witness name",
                    "Witness signature",
                    "Review by",
                    "Valid until (last day)",
                    "Recorded in the app by",
                    "Recorded on",
                ],
                _WIDTH,
            ),
        ),
    ]


def write_consent_form(form: ConsentForm, out: BinaryIO) -> int:
    who = form.resident.full_name if form.resident else "blank form"
    head = Letterhead(
        form.printed.home_name,
        f"Consent to share GP records: {who}",
        form.printed.at,
        signer=signer_of(form.printed),
    )
    return build(out, head, _story(form), PORTRAIT)
