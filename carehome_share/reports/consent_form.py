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


def _agreement(form: ConsentForm) -> list[Flowable]:
    """The agreement in force with the resident's practice, or plainly that there is none."""
    home = form.printed.home_name
    practice = form.practice.name if form.practice else "the resident's GP practice"
    agreement = form.agreement
    if form.resident is not None and agreement is None:
        return [
            para(
                f"No data sharing agreement between {home} and {practice} is in force today, so "
                "nobody at the home may view the GP record. A decision recorded now takes "
                "effect only once the home and the practice sign a new agreement; until then "
                "the nurses phone the practice, as before."
            )
        ]
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
            f"decision before anyone looks.{ends}"
        )
    ]


def _about(form: ConsentForm) -> list[Flowable]:
    home = form.printed.home_name
    return [
        *_agreement(form),
        Paragraph("What may be viewed", SUBHEADING),
        *(bullets([s.label for s in form.sections]) or [para("Nothing, today.")]),
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
            "change. Access ends when the resident leaves the home: nobody may view the GP "
            "record while they are not living here, and it starts again only if they return."
        ),
        Paragraph("The right to say no, or to change your mind", SUBHEADING),
        para(
            "Saying no is the resident's right and does not change the care they receive. Consent "
            "may be refused now, or withdrawn at any time: tell the nurse in charge or the "
            "registered manager, in person, by phone or in writing. It takes effect as soon as "
            "it is recorded: nobody may then view the GP record, and a record open at that "
            "moment is closed. An objection from the resident is respected even when someone "
            "else decides for them. What counts is when a decision was made: this form, if it "
            "reaches the computer late, counts from the date it was signed, and a decision made "
            "after it still stands. Whenever the GP record may not be viewed, the nurse phones "
            "the GP practice instead, as before."
        ),
        Paragraph("Who is responsible, and how to complain", SUBHEADING),
        para(
            f"{home} is the controller of the record of each look at the GP record; the GP "
            "practice remains the controller of the GP record itself. The home's privacy "
            "notice, which says how it uses personal information and for how long it keeps it, "
            "is on the notice board in reception and available from the registered manager. "
            "Anyone unhappy with how the information is used may complain to the home's "
            "manager, and to the Information Commissioner's Office (ICO): "
            "ico.org.uk/make-a-complaint, telephone 0303 123 1113."
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
            "one. Ask the registered manager about anything that is not clear."
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
                "Only if there is reason to doubt that the resident can make this decision. "
                "Assume they can unless this assessment shows otherwise, and help them first: "
                "parts C or D may be used only when it finds they cannot, for this decision, now."
            ),
            para(
                "Stage 1. Is there an impairment of, or a disturbance in the functioning of, "
                "the mind or brain (for example dementia, delirium, a stroke)?"
            ),
            _Choice("Yes, namely:"),
            _lines(1),
            _Choice("No: the resident has capacity (go to part A)."),
            para(
                "Stage 2. Because of it, is the resident unable, even with help, to do any one "
                "of these? Tick each that applies."
            ),
            _Choice("understand the information about this decision"),
            _Choice("retain that information long enough to decide"),
            _Choice("use or weigh that information as part of deciding"),
            _Choice("communicate the decision (by any means)"),
            para(
                "Steps taken to help the resident decide (for example a better time of day, "
                "hearing or sight aids, an interpreter, simpler words, pictures):"
            ),
            _lines(2),
            Paragraph("Outcome", SUBHEADING),
            _Choice("The resident HAS capacity to make this decision: they decide (part A)."),
            _Choice(
                "The resident LACKS capacity to make this decision at this time (stage 1 and at "
                "least one box in stage 2), because:"
            ),
            _lines(2),
            blanks(["Assessed by", "Role", "Assessed on", "Signature"], _WIDTH),
        ),
        *_section(
            "C. Decision by a representative",
            para(
                "Only a health and welfare attorney under a Lasting Power of Attorney registered "
                "with the Office of the Public Guardian, or a deputy appointed by the Court of "
                "Protection with authority over health decisions. The home sees the original "
                "document, or a certified copy, before relying on it."
            ),
            _Choice("Health and welfare attorney (LPA)"),
            blanks(["LPA registered on", "LPA seen on"], _WIDTH),
            spacer(2 * mm),
            _Choice("Court-appointed deputy"),
            blanks(["Court order reference", "Order seen on"], _WIDTH),
            blanks(["Name", "Relationship", "Document seen by", "Role"], _WIDTH),
            spacer(2 * mm),
            _Choice(f"As the resident's representative, I agree to {agree}."),
            _Choice("As the resident's representative, I do not agree."),
            blanks(["Signature", "Date"], _WIDTH),
        ),
        *_section(
            "D. Best-interests decision (no attorney or deputy)",
            para(
                "Made by the decision maker after consulting the people who know the resident, "
                "taking account of the resident's past and present wishes and feelings."
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
