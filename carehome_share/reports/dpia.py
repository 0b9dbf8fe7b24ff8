"""The data protection impact assessment (DPIA) and agreement pack for one GP practice's data
sharing agreement, following the steps of the ICO's DPIA template. What the app knows (the
agreement, who may open records, the consent rules, the settings and security measures in force)
is filled in from the home's own records; what only people can judge (likelihood and severity,
residual risk, the DPO's advice, sign-off) is left blank.

One outline of the words is laid out twice: as a signed PDF, and as a DOCX the home edits."""

from typing import BinaryIO

from reportlab.lib.units import mm

from carehome_share.domain.model import Section
from carehome_share.domain.rules import MIN_JUSTIFICATION
from carehome_share.reports.editable import write_docx
from carehome_share.reports.outline import (
    Blanks,
    Bullets,
    Facts,
    Grid,
    Heading,
    Outline,
    Part,
    Text,
    flowables,
)
from carehome_share.reports.page import PORTRAIT, Letterhead, build, grouped, uk_day
from carehome_share.reports.signature import signer_of
from carehome_share.services.auth import MIN_PASSWORD
from carehome_share.services.reports import DpiaPack

_WIDTH = PORTRAIT[0] - 30 * mm
TO_COMPLETE = "For the home to complete"
_JUDGED = (("Likelihood", 0.12), ("Severity", 0.11), ("Overall risk", 0.11))


def _minutes(n: int) -> str:
    return f"{n} minute{'' if n == 1 else 's'}"


def _title(pack: DpiaPack) -> str:
    return f"Data protection impact assessment: sharing GP records with {pack.practice.name}"


def _about(pack: DpiaPack) -> list[Part]:
    a, practice = pack.agreement, pack.practice
    return [
        Facts(
            (
                ("Care home (controller)", pack.printed.home_name),
                ("GP practice", f"{practice.name} (ODS code {practice.ods_code})"),
                (
                    "Data sharing agreement",
                    f"agreement {a.id}: in force from {uk_day(a.starts_on)} "
                    + (f"to {uk_day(a.ends_on)}" if a.ends_on else "with no end date")
                    + f"; review by {uk_day(a.review_on, 'no review date set')}",
                ),
                ("Signed for the home by", a.home_signatory),
                ("Signed for the practice by", a.practice_signatory),
                ("Pre-filled by", f"carehome-share, for {pack.printed.by}"),
            )
        ),
        Text(
            "Every answer below that is not marked \u201c" + TO_COMPLETE + "\u201d comes from the "
            "home's own records and settings in carehome-share when this pack was made; where "
            "it was taken from is named beside it. Change the agreement, the staff or the "
            "settings and a new pack shows the change. The signed PDF is the record of what the "
            "app held; the editable copy (DOCX) is for the home to finish."
        ),
    ]


def _need() -> list[Part]:
    return [
        Heading("Step 1: Why a DPIA is needed"),
        Text(
            "The home's registered nurses view parts of residents' GP records: health data, "
            "special category data under UK GDPR Article 9, about people who are vulnerable and "
            "some of whom lack the capacity to decide for themselves. The ICO's data sharing "
            "code asks for a DPIA before sharing health data like this, and the data "
            "sharing agreement makes the sharing routine rather than occasional."
        ),
        Grid((("Anything else that makes a DPIA needed here", 1.0),), (), blank_rows=1),
    ]


def _processing(pack: DpiaPack) -> list[Part]:
    a = pack.agreement
    not_shared = [s.label for s in Section if s not in a.sections]
    year = pack.last_year
    authorised = sum(1 for n in pack.nurses if not n.not_authorised)
    return [
        Heading("Step 2: The processing"),
        Text("The information needed (the parts of the GP record the agreement covers):"),
        Bullets(tuple(s.label for s in a.sections)),
        Text(
            "Not needed, and never offered to the nurse: "
            + (", ".join(not_shared) if not_shared else "none: every part of the record")
            + ". (From the agreement.)"
        ),
        Text(
            "Where it comes from: the resident's record held by "
            f"{pack.practice.name}, viewed in the practice's own viewer. carehome-share does "
            "not copy the record: it decides whether a nurse may look, and records who looked, "
            "when, why and which parts. It holds the residents' names, NHS numbers, dates of "
            "birth and rooms, their stays, consent decisions, every access session (purpose, "
            "justification, parts viewed), refusal and call to the practice, and the staff "
            "who may open records with their NMC PINs."
        ),
        Text("Why it is needed (the agreement's purposes):"),
        Bullets(tuple(p.label for p in a.purposes)),
        Text(
            "Scope, from the home's records: "
            f"{pack.residents} people registered with {pack.practice.name} are resident now; "
            f"in the last 365 days nurses opened {year.sessions} access sessions to the "
            f"practice's records, {year.refusals} attempts were refused and {year.contacts} "
            "calls were made to the practice instead."
        ),
        Text("Who may do what (from the roles the app grants):"),
        Grid(
            (("Role", 0.25), ("May", 0.75)),
            tuple(
                (role.label, "; ".join(duties) if duties else "nothing with GP records or consent")
                for role, duties in pack.roles
            ),
        ),
        Text(
            f"Registered nurses with an account now: {len(pack.nurses)}, of whom {authorised} "
            "may open records today (from the staff records and the access rules):"
        ),
        Grid(
            (
                ("Name", 0.2),
                ("NMC PIN", 0.11),
                ("NMC checked", 0.12),
                ("NMC expires", 0.12),
                ("Confidentiality signed", 0.17),
                ("May open records today", 0.28),
            ),
            tuple(
                (
                    n.staff.full_name,
                    n.staff.nmc_pin or "-",
                    uk_day(n.staff.nmc_checked_on),
                    uk_day(n.staff.nmc_expires_on),
                    uk_day(n.staff.confidentiality_signed_on, "not recorded"),
                    "Yes" if not n.not_authorised else "No: " + "; ".join(n.not_authorised),
                )
                for n in pack.nurses
            ),
            when_empty="No registered nurse has an account: nobody may open records.",
        ),
        Grid(
            (("Lawful basis under UK GDPR Article 6 and condition under Article 9", 1.0),),
            (),
            blank_rows=1,
        ),
        Text(
            "Consent recorded in the app is the resident's agreement for the common-law duty of "
            "confidentiality; it is not necessarily the lawful basis under UK GDPR, which the "
            "home's data protection officer records above."
        ),
    ]


def _consultation(pack: DpiaPack) -> list[Part]:
    return [
        Heading("Step 3: Consultation"),
        Grid(
            (("Who", 0.3), ("How and when consulted", 0.35), ("What they said", 0.35)),
            (
                ("Residents, their families and representatives", "", ""),
                (
                    f"{pack.practice.name} (the agreement was signed for it by "
                    f"{pack.agreement.practice_signatory})",
                    "",
                    "",
                ),
                ("Nurses and other staff", "", ""),
                ("Data protection officer or IG lead", "", ""),
            ),
        ),
    ]


def _necessity(pack: DpiaPack) -> list[Part]:
    s, practice = pack.settings, pack.practice
    phone = f" on {practice.phone}" if practice.phone else ""
    return [
        Heading("Step 4: Necessity and proportionality"),
        Text("The consent model the app enforces at every access:"),
        Bullets(
            (
                "Explicit consent: the resident's own decision, recorded with its date.",
                "When a capacity assessment, recorded in the app, finds the resident lacks "
                "capacity for this decision: their health and welfare attorney (LPA), their "
                "court-appointed deputy, or a best-interests decision under the Mental Capacity "
                "Act 2005, with the people consulted.",
                "A refusal, objection or withdrawal is honoured at once and stands until new "
                "explicit consent is recorded; nobody can override it. An expiry date ends a "
                "consent; a review date raises a reminder.",
                f"When access is refused the nurse phones {practice.name}{phone} instead, and "
                "the call is recorded as its own event.",
            )
        ),
        Text("Keeping to what is needed:"),
        Bullets(
            (
                "Only the parts of the record and the purposes of the agreement (Step 2); each "
                f"access needs a written justification of at least {MIN_JUSTIFICATION} "
                "characters, and the nurse ticks each part viewed.",
                "Only while the person is resident (admission to discharge), and only by "
                "registered nurses whose NMC registration is checked and current.",
                "An access session closes itself after "
                f"{_minutes(s['session_limit_minutes'])} (Settings); one open longer than "
                f"{_minutes(s['long_session_minutes'])} is listed for the manager.",
            )
        ),
        Text(
            "How people are told: the app prints a consent form for each resident, pre-filled "
            "with what may be viewed, by whom and why, and their right to refuse or withdraw. "
            "A resident's access history (every look at their record) answers a subject access "
            "request."
        ),
        Text(
            "Retention: carehome-share has no retention setting. It keeps every record, former "
            "residents' included, and its audit trail cannot have entries removed without it "
            "showing."
        ),
        Grid(
            (("Question", 0.4), (TO_COMPLETE, 0.6)),
            (
                ("Is identifiable data proportionate, or would less do?", ""),
                ("Privacy information: how residents and families are told", ""),
                ("How long records are kept, and how they are destroyed", ""),
                ("Where backups are kept, and who holds the recovery sheet", ""),
                ("Processors, and any transfer outside the UK", ""),
            ),
        ),
    ]


def _measures(pack: DpiaPack) -> tuple[tuple[str, str, str], ...]:
    """(measure, as configured now, where it is set) for each security measure in force."""
    s = pack.settings
    if pack.device_bound:
        slot = (
            "each needs the member of staff's password and this computer's device secret, "
            f"kept in {pack.keychain}"
        )
    else:
        slot = pack.keychain  # says that the password alone protects each slot
    return (
        (
            "Encryption of the database",
            "one SQLCipher 4 file, AES-256 with every page authenticated; sorting and reports "
            "stay in memory",
            "built in",
        ),
        (
            "Key handling",
            f"a random 256-bit key, never stored whole: {pack.key_slots} staff key slots, "
            f"{slot}; the recovery code on paper in the safe",
            "Staff page; Settings (rotate key)",
        ),
        (
            "Passwords",
            f"personal accounts only, at least {MIN_PASSWORD} characters, common and guessable "
            "ones refused; a password set by the manager must be changed at first use",
            "built in",
        ),
        (
            "Account lockout",
            f"{s['lockout_failures']} wrong passwords in "
            f"{_minutes(s['lockout_window_minutes'])} lock the account for "
            f"{_minutes(s['lockout_minutes'])}",
            "Settings",
        ),
        (
            "Idle lock",
            f"the screen locks after {_minutes(s['idle_lock_minutes'])} without a key or mouse",
            "Settings",
        ),
        (
            "Access session limit",
            f"closed automatically after {_minutes(s['session_limit_minutes'])} and flagged",
            "Settings",
        ),
        (
            "NMC registration",
            f"checked at every access; a reminder {s['nmc_check_due_days']} days after each check",
            "Staff page; Settings",
        ),
        (
            "Audit trail",
            "every login, change, access, refusal and call, hash-chained and an RFC 9162 Merkle "
            f"tree whose heads the home signs; {pack.head.seq} entries now, head "
            f"{grouped(pack.head.hash)}",
            "built in",
        ),
        (
            "Reports to the practice",
            f"a signed GP access report due every {s['report_due_days']} days; the practice "
            "checks each against the one before",
            "Settings; Reports page",
        ),
        (
            "Signed documents",
            f"every PDF signed (PAdES) with the home's key, fingerprint {pack.fingerprint}",
            "made at set-up",
        ),
    )


def _risks(pack: DpiaPack) -> list[Part]:
    s = pack.settings
    mitigated = (
        (
            "Staff without a need, such as carers or administrators, look at GP records",
            "only the registered nurse role may open records, checked at each access",
        ),
        (
            "A nurse whose registration has lapsed keeps looking",
            "NMC PIN, check and expiry checked at each access",
        ),
        (
            "Access without consent, or after a refusal or withdrawal",
            "the consent model in Step 4, checked at each access; no override",
        ),
        (
            "More of the record seen, or for another reason, than needed",
            "the agreement's parts and purposes only, with a written justification",
        ),
        (
            "A record left open on an unattended screen",
            f"idle lock after {_minutes(s['idle_lock_minutes'])}; session closed after "
            f"{_minutes(s['session_limit_minutes'])}",
        ),
        (
            "Passwords guessed",
            f"lockout after {s['lockout_failures']} wrong passwords; weak passwords refused",
        ),
        (
            "The PC, the database file or a backup stolen",
            "encrypted; opened only by a staff key slot or the recovery code",
        ),
        (
            "Accesses hidden by editing or deleting records",
            "audit chain and signed tree heads; a signed report to the practice every "
            f"{s['report_due_days']} days",
        ),
    )
    not_addressed = (
        "A photograph of the screen, or notes copied from the practice's viewer",
        "A printed document left on a desk or in a bin; a saved PDF or this editable copy "
        "copied elsewhere",
        "The GP system's own access control: a nurse with a login to the practice's viewer "
        "can look without opening a session here, and the parts ticked are the nurse's word",
        "Someone holding a manager's password altering entries made since the last report "
        "the practice checked",
        "Anyone with the recovery sheet opens the database and every backup made with its key",
    )
    return [
        Heading("Step 5: Risks"),
        Text(
            "Risks to residents the app reduces, with the measure as configured now. Likelihood "
            "(remote, possible, probable), severity (minimal, significant, severe) and overall "
            "risk (low, medium, high) are for the home to judge."
        ),
        Grid(
            (("Risk", 0.3), ("What the app does", 0.36), *_JUDGED),
            tuple((risk, measure, "", "", "") for risk, measure in mitigated),
        ),
        Text("Risks the app does not address: the home's own measures are needed."),
        Grid(
            (("Risk", 0.36), ("The home's measure", 0.3), *_JUDGED),
            tuple((risk, "", "", "", "") for risk in not_addressed),
            blank_rows=2,
        ),
    ]


def _steps_6_and_7(pack: DpiaPack) -> list[Part]:
    a = pack.agreement
    return [
        Heading("Step 6: Measures to reduce risk"),
        Text("Security measures configured in carehome-share now:"),
        Grid(
            (("Measure", 0.2), ("As configured now", 0.6), ("Where it is set", 0.2)),
            _measures(pack),
        ),
        Text("Further measures for the risks in Step 5:"),
        Grid(
            (
                ("Risk", 0.25),
                ("Measure", 0.3),
                ("Effect on risk", 0.15),
                ("Residual risk", 0.15),
                ("Approved", 0.15),
            ),
            (),
            blank_rows=4,
        ),
        Heading("Step 7: Sign-off and outcomes"),
        Grid(
            (("Item", 0.3), ("Name, role and date", 0.35), ("Notes", 0.35)),
            (
                ("Measures approved by", "", ""),
                ("Residual risks approved by", "", ""),
                ("DPO or IG lead's advice given by", "", ""),
                ("DPO's advice accepted or overruled by (say why if overruled)", "", ""),
                ("Consultation responses reviewed by", "", ""),
                (
                    "Kept under review by",
                    "",
                    f"the agreement's review date: {uk_day(a.review_on, 'none set')}",
                ),
            ),
        ),
        Text("Summary of the DPO's or IG lead's advice:"),
        Grid((("Advice", 1.0),), (), blank_rows=1),
        Blanks(
            (
                "DPO or IG lead",
                "Signature",
                "Registered manager",
                "Signature",
                "Date",
                "Next review",
            )
        ),
    ]


def dpia_outline(pack: DpiaPack) -> Outline:
    return Outline(
        _title(pack),
        (
            *_about(pack),
            *_need(),
            *_processing(pack),
            *_consultation(pack),
            *_necessity(pack),
            *_risks(pack),
            *_steps_6_and_7(pack),
        ),
    )


def _letterhead(pack: DpiaPack, signed: bool) -> Letterhead:
    return Letterhead(
        pack.printed.home_name,
        f"DPIA: {pack.practice.name}, agreement {pack.agreement.id}",
        pack.printed.at,
        signer=signer_of(pack.printed) if signed else None,
    )


def write_dpia(pack: DpiaPack, out: BinaryIO) -> int:
    story = flowables(dpia_outline(pack), _WIDTH, 48 * mm)
    return build(out, _letterhead(pack, signed=True), story, PORTRAIT)


def write_dpia_docx(pack: DpiaPack, out: BinaryIO) -> None:
    """The same words as the PDF, for the home to finish; unsigned, so it says it is a draft."""
    outline = dpia_outline(pack)
    draft = Text(
        "Draft for the home to complete. Unlike the signed PDF of this pack, this copy can be "
        "changed by anyone who edits it."
    )
    write_docx(Outline(outline.title, (draft, *outline.parts)), _letterhead(pack, False), out)
