"""The recovery sheet for the manager's safe: the recovery code in large groups, what it opens,
when and how to use it, and who put it in the safe."""

from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Table, TableStyle

from carehome_share.reports.fonts import MONO
from carehome_share.reports.page import (
    ALERT,
    BODY,
    HEADING,
    PORTRAIT,
    SMALL,
    TITLE,
    Letterhead,
    blanks,
    build,
    bullets,
    facts,
    para,
    spacer,
    uk_time,
)
from carehome_share.reports.signature import signer_of
from carehome_share.services.reports import RecoverySheet

_WIDTH = PORTRAIT[0] - 30 * mm
_PER_ROW = 4
_GROUP = ParagraphStyle("group", fontName=MONO, fontSize=22, leading=26, alignment=TA_CENTER)
_NUMBER = ParagraphStyle("number", SMALL, alignment=TA_CENTER, textColor=colors.grey)
_SAFE = ParagraphStyle("safe", TITLE, textColor=ALERT, alignment=TA_CENTER, fontSize=20)


def _code(groups: tuple[str, ...]) -> Table:
    """The groups, numbered, four to a row, so a group named in an error is easy to find."""
    cells = [
        [Paragraph(str(n), _NUMBER), Paragraph(group, _GROUP)]
        for n, group in enumerate(groups, start=1)
    ]
    cells += [""] * (-len(cells) % _PER_ROW)
    rows = [cells[i : i + _PER_ROW] for i in range(0, len(cells), _PER_ROW)]
    grid = Table(rows, colWidths=_WIDTH / _PER_ROW, hAlign="CENTER")
    grid.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return grid


def write_recovery_sheet(sheet: RecoverySheet, out: BinaryIO) -> int:
    home = sheet.printed.home_name
    kept_by = (
        "each member of staff's password, together with this computer's keychain"
        if sheet.device_bound
        else "each member of staff's password (this computer has no secure keychain)"
    )
    head = Letterhead(
        home,
        "Recovery sheet",
        sheet.printed.at,
        "CONFIDENTIAL: unlocks all personal data",
        signer_of(sheet.printed),
    )
    story = [
        para("Recovery sheet", TITLE),
        Paragraph("KEEP IN THE SAFE", _SAFE),
        spacer(),
        facts(
            [
                ("Home", home),
                ("Database file", sheet.database),
                ("Normally unlocked by", kept_by),
                ("Printed", f"{uk_time(sheet.printed.at)} by {sheet.printed.by}"),
            ],
            widths=(40 * mm, _WIDTH - 40 * mm),
        ),
        Paragraph("Recovery code", HEADING),
        _code(sheet.groups),
        Paragraph("When and how to use it", HEADING),
        *bullets(
            [
                "The code is the database key itself: it opens this database on any computer, "
                "with no password. It also opens backups made with this key (since the last "
                "key rotation).",
                "Use it to set up a new or rebuilt computer (the app then keeps this home's "
                "device secret in that computer's keychain, and staff log in there with their "
                "own passwords), when no password opens the database, or when the only manager "
                "is locked out (recorded in the audit trail).",
                "Start carehome-share and choose 'Use the recovery code'. Dashes, spaces and "
                "small letters are all fine. On the command line: "
                'carehome-share --recovery-code "CODE" verify',
                "After the key is rotated (Settings, or carehome-share key rotate) this sheet no "
                "longer opens the database: shred it once the new one is in the safe, but keep "
                "it while older backups are kept.",
                "The last character of each group is a check: if one is mistyped, the app names "
                "the group to look at again.",
            ]
        ),
        Paragraph("Keep it safe", HEADING),
        *bullets(
            [
                "The code unlocks every resident's and every member of staff's records. Anyone "
                "who has it and a copy of the database can read them.",
                "Keep this sheet in the safe. Do not photograph, scan, email or copy it.",
                "If it is lost or may have been seen, tell the registered manager and the "
                "information governance lead at once and record a data security incident.",
            ]
        ),
        spacer(6 * mm),
        para("Placed in the safe", BODY),
        blanks(["By", "Signature", "Date", "Witness"], _WIDTH),
    ]
    return build(out, head, story, PORTRAIT)
