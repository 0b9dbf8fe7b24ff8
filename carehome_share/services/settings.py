"""The home's settings, with the defaults a new home starts from: whole numbers, and the
home's identifiers (text; "" until the manager records them). Both kinds live in the settings
table (key, text value), so recording an identifier needs no new schema."""

from collections.abc import Callable

from carehome_share.domain.errors import ValidationError
from carehome_share.domain.identifiers import parse_cqc_location_id, parse_home_ods_code
from carehome_share.domain.model import HomeIds
from carehome_share.services.context import Context, Tx, perform, read
from carehome_share.store import repo
from carehome_share.store.vault import Connection

# name: (default, lowest, highest, what it means)
SETTINGS: dict[str, tuple[int, int, int, str]] = {
    "session_limit_minutes": (
        30,
        5,
        240,
        "minutes before an open GP-record session is auto-closed",
    ),
    "idle_lock_minutes": (5, 1, 60, "minutes of inactivity before the screen locks"),
    "lockout_failures": (5, 3, 20, "wrong passwords that lock an account"),
    "lockout_window_minutes": (5, 1, 60, "minutes over which wrong passwords are counted"),
    "lockout_minutes": (15, 1, 1440, "minutes an account stays locked"),
    "nmc_check_due_days": (365, 30, 730, "days after an NMC check before it is due again"),
    # 20: a medication check or assessment takes 10 to 15 minutes; a third of sessions passed 15
    "long_session_minutes": (20, 5, 240, "minutes after which a session is listed as long"),
    "report_due_days": (
        31,
        7,
        366,
        "days after a GP access report before the practice's next one is due",
    ),
    "disclosure_attention_days": (
        7,
        1,
        90,
        "days an undecided disclosure request waits before Needs attention lists it",
    ),
}


# name: (what it means, the check of a value given: the value as stored, or ValidationError)
IDENTIFIERS: dict[str, tuple[str, Callable[[object, str], str]]] = {
    "home_ods_code": ("the home's ODS organisation code", parse_home_ods_code),
    "cqc_location_id": ("the home's CQC location ID", parse_cqc_location_id),
}


def meaning(name: str) -> str:
    return SETTINGS[name][3] if name in SETTINGS else IDENTIFIERS[name][0]


def setting(conn: Connection, name: str) -> int:
    stored = repo.get_setting(conn, name)
    return int(stored) if stored is not None else SETTINGS[name][0]


def identifier(conn: Connection, name: str) -> str:
    return repo.get_setting(conn, name) or ""


def home_ids(conn: Connection) -> HomeIds:
    return HomeIds(identifier(conn, "home_ods_code"), identifier(conn, "cqc_location_id"))


def all_settings(ctx: Context) -> dict[str, int | str]:
    def work(tx: Tx) -> dict[str, int | str]:
        numbers: dict[str, int | str] = {name: setting(tx.conn, name) for name in SETTINGS}
        return numbers | {name: identifier(tx.conn, name) for name in IDENTIFIERS}

    return read(ctx, "view_settings", work)


def change_setting(ctx: Context, name: str, value: object) -> None:
    """A whole-number setting, or one of the home's identifiers ("" clears it)."""

    def work(tx: Tx) -> None:
        if not isinstance(name, str) or name not in SETTINGS | IDENTIFIERS:
            raise ValidationError("setting", "one of: " + ", ".join(SETTINGS | IDENTIFIERS))
        if name in IDENTIFIERS:
            old = identifier(tx.conn, name)
            given = value.strip() if isinstance(value, str) else value
            new = "" if given == "" else IDENTIFIERS[name][1](given, name)
            tx.details.update(setting=name, old=old, new=new)
            repo.put_setting(tx.conn, name, new)
            return
        _, low, high, meaning = SETTINGS[name]
        typed = value.strip() if isinstance(value, str) else ""
        number = int(typed) if typed.isascii() and typed.isdigit() else value
        if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
            raise ValidationError(name, f"a whole number from {low} to {high} ({meaning})")
        tx.details.update(setting=name, old=setting(tx.conn, name), new=number)
        repo.put_setting(tx.conn, name, str(number))

    perform(ctx, "change_settings", work)
