"""The command line: every service, for scripts and for the manager's terminal.

The acting user logs in for each command (`--user`, password from CAREHOME_SHARE_PASSWORD or a
prompt), so the command line passes the same permission checks and audit as the desktop app.
"""

import argparse
import dataclasses
import getpass
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from carehome_share import __version__, paths
from carehome_share.domain import validation as v
from carehome_share.domain.consent import ConsentState, in_order_made, late_note, overtaken_note
from carehome_share.domain.disclosure import LawfulBasis, Outcome, Requester
from carehome_share.domain.errors import (
    AccessRefused,
    CarehomeError,
    PermissionDenied,
    RoleNeeded,
    ValidationError,
)
from carehome_share.domain.identifiers import format_nhs_number
from carehome_share.domain.model import (
    Ability,
    CloseKind,
    ConsentKind,
    DecidedBy,
    Purpose,
    Role,
    Section,
    StayKind,
)
from carehome_share.interop.fhir import write_bundle
from carehome_share.services import (
    access,
    auth,
    backup,
    consent,
    disclosures,
    fhir_export,
    practices,
    reports,
    residents,
    settings,
    staff,
)
from carehome_share.services import audit as audit_service
from carehome_share.services.context import Context
from carehome_share.store import keychain, keyslots
from carehome_share.store.files import atomic_output
from carehome_share.store.vault import (
    DatabaseError,
    FileUnusable,
    NeedsUnlock,
    Vault,
    VaultError,
    WrongPassword,
)

ENV_PASSPHRASE = "CAREHOME_SHARE_PASSPHRASE"
ENV_PASSWORD = "CAREHOME_SHARE_PASSWORD"
ENV_USER = "CAREHOME_SHARE_USER"
ENV_RECOVERY_CODE = "CAREHOME_SHARE_RECOVERY_CODE"
EXIT_INPUT, EXIT_REFUSED, EXIT_LOCKED = 2, 3, 4


class UsageError(CarehomeError):
    """Something missing from the command line itself."""


# -- output ---------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, dates and sets as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


def emit(args: argparse.Namespace, value: Any, text: str) -> None:
    print(json.dumps(jsonable(value), indent=2, ensure_ascii=False) if args.json else text)


# -- unlocking and logging in ----------------------------------------------------------------


def _secret(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise UsageError(f"{prompt.rstrip(': ')} needed: set {env} or run in a terminal")
    return getpass.getpass(prompt)


def _username(args: argparse.Namespace) -> str:
    username = args.user or os.environ.get(ENV_USER)
    if not username:
        raise UsageError(f"--user USERNAME (or {ENV_USER}) is needed to act as a member of staff")
    return str(username)


def _recovery_code(args: argparse.Namespace) -> str | None:
    return args.recovery_code or os.environ.get(ENV_RECOVERY_CODE)


def open_vault(args: argparse.Namespace, username: str, password: str) -> Vault:
    """Opening is logging in: the person's key slot, else the recovery code (which also enrols
    this computer), else, for a 0.1 file still moving to key slots, its old passphrase."""
    path = Path(args.db)
    code = _recovery_code(args)
    if code:
        return Vault.open_with_recovery_code(path, code)
    old_passphrase = os.environ.get(ENV_PASSPHRASE)
    if old_passphrase:
        return Vault.open_with_old_passphrase(path, old_passphrase)
    try:
        return Vault.open_as(path, username, password)
    except NeedsUnlock:
        if not sys.stdin.isatty():
            raise
        return Vault.open_with_recovery_code(path, getpass.getpass("Recovery code: "))


def logged_in(args: argparse.Namespace) -> Context:
    """Open the database as the acting member of staff and log in under their role."""
    username = _username(args)
    password = _secret(ENV_PASSWORD, f"Password for {username}: ")
    vault = open_vault(args, username, password)
    ctx = Context(vault)
    try:
        auth.log_in(ctx, username, password, args.role)
    except BaseException:
        vault.close()
        raise
    return ctx


def _close(ctx: Context) -> None:
    try:
        auth.log_out(ctx)
    finally:
        ctx.vault.close()


# -- commands that need no login -------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    if not args.json:
        print(f"The device secret goes to {keychain.describe()}.", file=sys.stderr)
    password = _secret(ENV_PASSWORD, f"New password for {args.manager} (10+ characters): ")
    auth.check_password_strength(
        "password", password, args.manager, args.manager_name, args.home
    )  # before anything is created
    vault, code = Vault.create(args.db, purpose="demo" if args.training else "home")
    try:
        auth.set_up_home(Context(vault), args.home, args.manager, args.manager_name, password)
    except BaseException:
        vault.close()
        remove_database(vault.path)
        raise
    vault.close()
    emit(
        args,
        {"database": str(vault.path), "keychain": keychain.available(), "recovery_code": code},
        f"Created {vault.path}; {args.manager} opens it with their password"
        + (" on this computer." if keychain.available() else " (no keychain: password alone).")
        + "\n\nRECOVERY CODE (write it down or print it, keep it in the safe; it is shown "
        f"once):\n\n    {code}\n\nIt opens the database on any computer, without a password.",
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from carehome_share import demo  # the generator is only needed here

    path = Path(args.db).resolve()
    if path.exists():
        if not args.replace:
            raise UsageError(f"{path} exists; add --replace to overwrite this demo database")
        _check_is_demo(path, demo.DEMO_ACCOUNTS[0][0], demo.DEMO_PASSWORD)
        remove_database(path)
    vault, _code = Vault.create(path, purpose="demo")
    try:
        summary = demo.generate(
            Context(vault), residents=args.residents, sessions=args.sessions, seed=args.seed
        )
    finally:
        vault.close()
    accounts = "\n".join(f"  {u:<12} {roles:<16} {what}" for u, roles, what in demo.DEMO_ACCOUNTS)
    emit(
        args,
        {"database": str(path), "summary": summary, "password": demo.DEMO_PASSWORD},
        f"Demo database at {path}\n{summary}\n"
        f"Accounts (password '{demo.DEMO_PASSWORD}'):\n{accounts}",
    )
    return 0


def _check_is_demo(path: Path, username: str, password: str) -> None:
    """--replace deletes only a file that `demo` made: one its manager's known password opens
    and that says it holds synthetic residents. Anything else is refused, unchanged."""
    refusal = UsageError(
        f"{path} is not a demo database made by 'carehome-share demo': it is left unchanged. "
        "Choose another file with --db."
    )
    key_file = keyslots.read_key_file(keyslots.key_file_path(path))
    if key_file is None or key_file.purpose != "demo":  # no password tried on a real home
        raise refusal
    try:
        vault = Vault.open_as(path, username, password)
    except VaultError:
        raise refusal from None
    try:
        if vault.purpose != "demo":
            raise refusal
    finally:
        vault.close()


def remove_database(path: Path) -> None:
    """A database with its write-ahead log, key file and login journal."""
    for suffix in ("", "-wal", "-shm", ".keys", ".keys.next", ".logins"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def cmd_verify(args: argparse.Namespace) -> int:
    """Any member of staff may check the file (it shows no personal data), or the holder of the
    recovery code. Opening through a key slot is proof enough; there is no login, so a check
    of a damaged file writes nothing to it and can name the damaged pages."""
    code = _recovery_code(args)
    if code and not (args.user or os.environ.get(ENV_USER)):
        vault = Vault.open_with_recovery_code(Path(args.db), code)
    else:
        username = _username(args)
        vault = open_vault(args, username, _secret(ENV_PASSWORD, f"Password for {username}: "))
    try:
        result = audit_service.verify(Context(vault), args.head)
    finally:
        vault.close()
    head = f"{result.head_seq}:{result.head_hash}"
    lines = [
        f"{result.entries} audit entries and {result.rows} record rows checked; chain head {head}"
    ]
    lines += [f"PROBLEM: {p}" for p in result.problems] or [
        "OK: the file, its structure and the audit chain are intact",
        "OK: every record row, and the tables and safeguards, are as the audit trail recorded",
    ]
    emit(args, {**jsonable(result), "ok": result.ok}, "\n".join(lines))
    return 0 if result.ok else 1


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a checked backup of this home in place of the database: a manager of the backup
    logs in to it (its key file beside it), or the recovery code opens it."""
    code = _recovery_code(args)
    username = None if code else _username(args)
    password = None if code else _secret(ENV_PASSWORD, f"Password for {username}: ")
    restored, replaced = backup.restore(
        args.backup, args.db, username=username, password=password, recovery_code=code
    )
    aside = f"\nThe file it replaced was kept as {replaced.aside}" if replaced.aside else ""
    emit(
        args,
        {"restored": restored, "replaced": replaced},
        f"Restored {restored.path} from {Path(args.backup).resolve()}: {restored.entries} audit "
        f"entries; chain head {restored.head_seq}:{restored.head_hash}. The restore is recorded "
        f"in its audit trail and on the next GP access report.{aside}",
    )
    return 0


def cmd_check_report(args: argparse.Namespace) -> int:
    """What a GP practice runs on a report it was sent: no database, no keychain, no login."""
    from carehome_share import check  # pyHanko and pypdf are only needed here

    verdict = check.check_report(args.report, args.previous, args.fingerprint)
    emit(args, verdict.to_json(), verdict.text())
    return 0 if verdict.ok else 1


# -- commands acting as a logged-in user ------------------------------------------------------


def _resident_id(ctx: Context, nhs: str) -> int:
    return residents.resident_id_for(ctx, nhs)


def _staff_id(ctx: Context, username: str, action: str) -> int:
    return staff.find_staff(ctx, username, action).id


def _staff_line(s: Any) -> str:
    roles = ",".join(r.value for r in Role if r in s.roles)
    nmc = (
        f" NMC {s.nmc_pin} checked {s.nmc_checked_on or '-'} valid until {s.nmc_expires_on or '-'}"
        if s.nmc_pin
        else ""
    )
    return (
        f"{s.username:<16} {s.full_name:<28} {roles:<16}{'' if s.active else ' (deactivated)'}{nmc}"
    )


def staff_add(ctx: Context, a: argparse.Namespace) -> Any:
    password = _secret("CAREHOME_SHARE_NEW_PASSWORD", f"Temporary password for {a.username}: ")
    return staff.add_staff(
        ctx,
        a.username,
        a.name,
        a.roles,
        password,
        nmc_pin=a.nmc_pin,
        nmc_checked_on=a.nmc_checked_on,
        nmc_expires_on=a.nmc_expires_on,
        confidentiality_signed_on=a.confidentiality_signed_on,
        ig_training_on=a.ig_training_on,
    )


def _given(a: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The options typed on the command line, so an update changes only those."""
    return {name: getattr(a, name) for name in names if getattr(a, name) is not None}


def staff_update(ctx: Context, a: argparse.Namespace) -> Any:
    changes = _given(
        a, "full_name", "roles", "nmc_pin", "confidentiality_signed_on", "ig_training_on"
    )
    return staff.update_staff(ctx, _staff_id(ctx, a.username, "update_staff"), **changes)


def staff_reset(ctx: Context, a: argparse.Namespace) -> Any:
    password = _secret("CAREHOME_SHARE_NEW_PASSWORD", f"Temporary password for {a.username}: ")
    staff.reset_password(ctx, _staff_id(ctx, a.username, "reset_password"), password)
    return {"reset": a.username}


def password_change(ctx: Context, a: argparse.Namespace) -> Any:
    current = _secret(ENV_PASSWORD, "Current password: ")
    new = _secret("CAREHOME_SHARE_NEW_PASSWORD", "New password: ")
    auth.change_own_password(ctx, current, new)
    return {"changed": True}


def _practice_id(ctx: Context, ods_code: str) -> int:
    return practices.find_practice(ctx, ods_code).id


def practice_edit(ctx: Context, a: argparse.Namespace) -> Any:
    changes = _given(a, "name", "ods_code", "phone")
    return practices.update_practice(ctx, _practice_id(ctx, a.practice), **changes)


def practice_line(p: Any) -> str:
    return f"{p.ods_code}  {p.name}  {p.phone}{'' if p.active else '  (inactive)'}"


def resident_update(ctx: Context, a: argparse.Namespace) -> Any:
    changes = _given(a, "given_name", "family_name", "date_of_birth", "ods_code", "room")
    return residents.update_resident(ctx, _resident_id(ctx, a.nhs), **changes)


def resident_line(listing: Any) -> str:
    r = listing.resident
    return f"{format_nhs_number(r.nhs_number)}  {r.full_name:<30} room {r.room or '-':<5} {'resident' if listing.current else 'not resident'}"


def resident_show(ctx: Context, a: argparse.Namespace) -> Any:
    return residents.resident_details(ctx, _resident_id(ctx, a.nhs))


def describe_resident(details: Any) -> str:
    record = details.record
    r = record.resident
    lines = [
        f"{r.full_name}, NHS {format_nhs_number(r.nhs_number)}, born {r.date_of_birth:%d/%m/%Y}, room {r.room or '-'}",
        f"GP practice: {record.practice.name} ({record.practice.ods_code})"
        if record.practice
        else "GP practice: -",
        "Stays:",
    ]
    lines += [
        f"  {s.kind.value:<9} admitted {s.admitted_at:%d/%m/%Y %H:%M}  discharged {s.discharged_at:%d/%m/%Y %H:%M}"
        if s.discharged_at
        else f"  {s.kind.value:<9} admitted {s.admitted_at:%d/%m/%Y %H:%M}  (current)"
        for s in record.stays
    ]
    lines.append("Consent history, in the order decided (the last decided stands):")
    lines += [
        f"  {c.decided_on:%d/%m/%Y} {c.kind.value:<9} by {c.decided_by.label}{' ' + c.representative_name if c.representative_name else ''}{' - ' + c.reason if c.reason else ''}{f' ({late_note(c)})' if c.entered_late else ''}"
        for c in in_order_made(record.consents)
    ]
    return "\n".join(lines)


def describe_consent(state: ConsentState) -> str:
    text = "Consent IN FORCE" if state.in_force else f"NO consent in force: {state.problem.text}"
    notes = ["review due" if state.review_due else "", overtaken_note(state)]
    return text + "".join(f" ({note})" for note in notes if note)


def consent_record(ctx: Context, a: argparse.Namespace) -> Any:
    return consent.record_consent(
        ctx,
        _resident_id(ctx, a.nhs),
        a.kind,
        a.decided_by,
        decided_on=a.decided_on,
        representative_name=a.representative_name or "",
        representative_relationship=a.relationship or "",
        authority_reference=a.authority_reference or "",
        lacks_capacity=a.lacks_capacity,
        capacity_assessed_on=a.capacity_assessed_on,
        capacity_assessment=a.capacity_assessment or "",
        people_consulted=a.people_consulted or "",
        witness=a.witness or "",
        reason=a.reason or "",
        review_on=a.review_on,
        expires_on=a.expires_on,
        impairment={"yes": True, "no": False}.get(a.impairment or ""),
        impairment_detail=a.impairment_detail or "",
        unable_to=[x.strip() for x in (a.unable_to or "").split(",") if x.strip()],
        has_capacity=a.has_capacity,
        support_steps=a.support_steps or "",
        capacity_assessed_by=a.capacity_assessed_by or "",
        lpa_registered_on=a.lpa_registered_on,
        authority_seen_on=a.authority_seen_on,
        authority_seen_by=a.authority_seen_by or "",
        known_wishes=a.known_wishes or "",
    )


def session_line(s: Any) -> str:
    closed = f"{s.close_kind.value} {s.closed_at:%H:%M}" if s.closed_at else "OPEN"
    if s.close_kind is CloseKind.ENDED:
        closed += f" ({s.close_reason})"
    sections = ", ".join(x.value for x in s.sections) or "no sections ticked"
    return f"session {s.id}: {s.purpose.label}, opened {s.opened_at:%d/%m/%Y %H:%M}, {closed}; viewed: {sections}"


def audit_line(e: Any) -> str:
    reasons = f" ({'; '.join(e.reasons)})" if e.reasons else ""
    return f"{e.seq:>7} {e.at} {e.actor_username:<12} {e.actor_role:<9} {e.action:<24} {e.outcome}{reasons}"


def _document(
    a: argparse.Namespace,
    read: Callable[[Callable[[Any], int | None]], int | None],
    writer: str,
) -> dict[str, Any]:
    """Read a document through its service and save it (PDF, or a DOCX writer's); the file
    appears only whole.

    `writer` is MODULE.FUNCTION in carehome_share.reports, imported only here: reportlab would
    add ~70 ms to every other command."""
    module, function = writer.rsplit(".", 1)
    write = getattr(importlib.import_module(f"carehome_share.reports.{module}"), function)
    with atomic_output(a.out) as out:
        pages = read(lambda document: write(document, out))
    return {"written": str(Path(a.out).resolve()), "pages": pages}


def _wrote(result: dict[str, Any]) -> str:
    pages = result["pages"]  # None: an editable document, laid out by the word processor
    if pages is None:
        return f"Wrote {result['written']}"
    return f"Wrote {result['written']} ({pages} page{'' if pages == 1 else 's'})"


def disclosure_log(ctx: Context, a: argparse.Namespace) -> Any:
    return disclosures.log_request(
        ctx,
        requester=a.requester,
        organisation=a.organisation,
        person=a.person,
        resident_ids=[_resident_id(ctx, nhs) for nhs in a.nhs],
        asked=a.asked,
        why=a.why,
        basis=a.basis,
        received_on=a.received_on,
        reference=a.reference or "",
        identity_check=a.identity_check or "",
        in_writing=a.in_writing,
        due_on=a.due_on,
    )


def disclosure_attach(ctx: Context, a: argparse.Namespace) -> Any:
    path = Path(a.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError("file", f"a file that can be read ({exc.strerror}: {path})") from None
    return disclosures.attach_request_document(ctx, a.request_id, path.name, data)


def disclosure_document(ctx: Context, a: argparse.Namespace) -> dict[str, Any]:
    name, data = disclosures.request_document(ctx, a.request_id)
    with atomic_output(a.out) as out:
        out.write(data)
    return {"written": str(Path(a.out).resolve()), "kept_as": name, "bytes": len(data)}


def disclosure_line(r: Any) -> str:
    decided = r.decision.outcome.label if r.decision else "AWAITING A DECISION"
    due = f", due {r.due_on:%d/%m/%Y}" if r.due_on and not r.decision else ""
    return (
        f"{r.id:>4} {r.received_on:%d/%m/%Y} {r.requester.label}: {r.organisation} "
        f"({r.basis.value}) - {decided}{due}"
    )


def describe_disclosure(r: Any) -> str:
    lines = [
        disclosure_line(r),
        f"  From: {r.person}{f', ref. {r.reference}' if r.reference else ''}",
        f"  Asked for: {r.asked}",
        f"  Why: {r.why}",
        f"  Identity: {r.identity_check or 'NOT verified'}; "
        f"{'in writing' if r.in_writing else 'NOT in writing'}"
        f"{f' (kept: {r.document_name})' if r.document_name else ''}",
    ]
    for d in r.decisions:
        lines.append(f"  {d.outcome.label} {d.decided_at:%d/%m/%Y} by {d.decided_by}: {d.reasons}")
        if d.outcome.discloses:
            lines.append(f"    Disclosed: {d.disclosed}; sent {d.sent_how}")
    return "\n".join(lines)


def report_dpia(ctx: Context, a: argparse.Namespace) -> Any:
    """The DPIA pack as a signed PDF, or as a DOCX for the home to finish: --format, else the
    file name's ending."""
    form = a.format or Path(a.out).suffix.lower().lstrip(".")
    if form not in ("pdf", "docx"):
        raise ValidationError("out", "a file name ending .pdf or .docx, or --format pdf|docx")
    editable = form == "docx"
    return _document(
        a,
        lambda render: reports.dpia_pack(ctx, a.agreement_id, render, editable=editable),
        "dpia.write_dpia_docx" if editable else "dpia.write_dpia",
    )


def report_recovery(ctx: Context, a: argparse.Namespace) -> Any:
    code = a.recovery_code or _secret(ENV_RECOVERY_CODE, "Recovery code to print: ")
    return _document(
        a,
        lambda render: reports.recovery_sheet(ctx, code, render),
        "recovery_sheet.write_recovery_sheet",
    )


def key_rotate(ctx: Context, a: argparse.Namespace) -> dict[str, Any]:
    code = staff.rotate_key(ctx)
    result: dict[str, Any] = {"recovery_code": code}
    if a.out:
        a.recovery_code = code
        result.update(report_recovery(ctx, a))
    return result


def _rotated(result: dict[str, Any]) -> str:
    sheet = f"\n{_wrote(result)}" if "written" in result else ""
    return (
        "The database has a new key; every member of staff keeps their password.\n\n"
        f"NEW RECOVERY CODE (print it and put it in the safe; the old sheet no longer opens "
        f"this file, though it still opens backups made before today):\n\n    "
        f"{result['recovery_code']}\n{sheet}"
    )


def export_fhir(ctx: Context, a: argparse.Namespace) -> dict[str, Any]:
    """Save the FHIR Bundle of a period's consent and access audit; the file appears only whole."""
    with atomic_output(a.out) as out:
        resources = fhir_export.export_fhir(
            ctx, a.first_day, a.last_day, a.ods_code, lambda export: write_bundle(export, out)
        )
    return {"written": str(Path(a.out).resolve()), "resources": resources}


Handler = Callable[[Context, argparse.Namespace], Any]
# command path -> (service call, how to print its result)
ACTIONS: dict[tuple[str, str], tuple[Handler, Callable[[Any], str]]] = {
    ("staff", "add"): (
        staff_add,
        lambda s: f"Added {_staff_line(s)}\nThey choose their own password at first login.",
    ),
    ("staff", "list"): (
        lambda c, a: staff.list_staff(c),
        lambda rows: "\n".join(map(_staff_line, rows)),
    ),
    ("staff", "update"): (staff_update, lambda s: f"Updated {_staff_line(s)}"),
    ("staff", "nmc-check"): (
        lambda c, a: staff.record_nmc_check(
            c, _staff_id(c, a.username, "record_nmc_check"), a.checked_on, a.expires_on
        ),
        lambda s: f"NMC check recorded: {_staff_line(s)}",
    ),
    ("staff", "deactivate"): (
        lambda c, a: staff.deactivate_staff(c, _staff_id(c, a.username, "deactivate_staff")),
        lambda s: f"Deactivated {s.username}",
    ),
    ("staff", "reset-password"): (
        staff_reset,
        lambda r: f"Password reset for {r['reset']}; they must change it at next login.",
    ),
    ("staff", "clear-lockout"): (
        lambda c, a: staff.clear_lockout(c, _staff_id(c, a.username, "clear_lockout")),
        lambda r: "Lockout cleared.",
    ),
    ("password", "change"): (password_change, lambda r: "Password changed."),
    ("key", "rotate"): (key_rotate, _rotated),
    ("practice", "add"): (
        lambda c, a: practices.add_practice(c, a.name, a.ods_code, a.phone or ""),
        lambda p: f"Added {p.name} ({p.ods_code})",
    ),
    ("practice", "list"): (
        lambda c, a: practices.list_practices(c),
        lambda rows: "\n".join(map(practice_line, rows)),
    ),
    ("practice", "edit"): (practice_edit, lambda p: f"Updated {practice_line(p)}"),
    ("practice", "delete"): (
        lambda c, a: practices.delete_practice(c, _practice_id(c, a.practice)),
        lambda p: f"Deleted {p.name} ({p.ods_code})",
    ),
    ("practice", "deactivate"): (
        lambda c, a: practices.set_practice_active(c, _practice_id(c, a.practice), False),
        lambda p: f"{p.name} ({p.ods_code}) is inactive: no longer offered for new residents",
    ),
    ("practice", "activate"): (
        lambda c, a: practices.set_practice_active(c, _practice_id(c, a.practice), True),
        lambda p: f"{p.name} ({p.ods_code}) is active again",
    ),
    ("agreement", "add"): (
        lambda c, a: practices.add_agreement(
            c,
            a.ods_code,
            starts_on=a.starts_on,
            ends_on=a.ends_on,
            review_on=a.review_on,
            purposes=a.purposes,
            sections=a.sections,
            home_signatory=a.home_signatory,
            practice_signatory=a.practice_signatory,
        ),
        lambda g: f"Agreement {g.id} recorded, in force from {g.starts_on:%d/%m/%Y}",
    ),
    ("agreement", "list"): (
        lambda c, a: practices.list_agreements(c, a.ods_code),
        lambda rows: "\n".join(
            f"{g.id}: practice {g.practice_id} {g.starts_on} to {g.ends_on or 'open-ended'}; purposes {', '.join(p.value for p in g.purposes)}; sections {', '.join(s.value for s in g.sections)}"
            for g in rows
        ),
    ),
    ("agreement", "end"): (
        lambda c, a: practices.end_agreement(c, a.agreement_id, a.ends_on),
        lambda g: f"Agreement {g.id} is in force until {g.ends_on:%d/%m/%Y}, its last day",
    ),
    ("resident", "add"): (
        lambda c, a: residents.add_resident(
            c, a.nhs, a.given_name, a.family_name, a.date_of_birth, a.ods_code, a.room or ""
        ),
        lambda r: f"Added {r.full_name}, NHS {format_nhs_number(r.nhs_number)}",
    ),
    ("resident", "list"): (
        lambda c, a: residents.find_residents(c, a.search or ""),
        lambda rows: "\n".join(map(resident_line, rows)) or "No residents match.",
    ),
    ("resident", "show"): (resident_show, describe_resident),
    ("resident", "update"): (resident_update, lambda r: f"Updated {r.full_name}"),
    ("resident", "admit"): (
        lambda c, a: residents.admit(c, _resident_id(c, a.nhs), a.at, a.kind),
        lambda s: f"Admitted ({s.kind.value}) at {s.admitted_at:%d/%m/%Y %H:%M} UTC",
    ),
    ("resident", "discharge"): (
        lambda c, a: residents.discharge(c, _resident_id(c, a.nhs), a.at),
        lambda s: f"Discharged at {s.discharged_at:%d/%m/%Y %H:%M} UTC",
    ),
    ("consent", "record"): (
        consent_record,
        lambda d: (
            f"Recorded: {d.kind.value} by {d.decided_by.label} on {d.decided_on:%d/%m/%Y}"
            + (f" ({late_note(d)})" if d.entered_late else "")
        ),
    ),
    ("consent", "show"): (
        lambda c, a: consent.consent_in_force(c, _resident_id(c, a.nhs)),
        describe_consent,
    ),
    ("session", "open"): (
        lambda c, a: access.open_access_session(
            c, _resident_id(c, a.nhs), a.purpose, a.justification
        ),
        lambda s: f"Opened {session_line(s)}" + "".join(f"\nNOTE: {a}" for a in s.alerts),
    ),
    ("session", "sections"): (
        lambda c, a: access.record_sections_viewed(c, a.session_id, a.sections.split(",")),
        session_line,
    ),
    ("session", "close"): (
        lambda c, a: access.close_access_session(c, a.session_id),
        lambda s: f"Closed {session_line(s)}",
    ),
    ("session", "close-stale"): (
        lambda c, a: access.close_stale_sessions(c),
        lambda ids: f"Auto-closed {len(ids)} session(s) left open past the limit.",
    ),
    ("session", "mine"): (
        lambda c, a: access.my_sessions_today(c),
        lambda rows: "\n".join(map(session_line, rows)) or "No sessions today.",
    ),
    ("gp-contact", "log"): (
        lambda c, a: access.log_gp_contact(
            c, _resident_id(c, a.nhs), a.spoke_to, a.reason, a.outcome, a.refusal_id
        ),
        lambda i: f"GP contact {i} logged.",
    ),
    ("audit", "list"): (
        lambda c, a: audit_service.audit_entries(
            c, _resident_id(c, a.nhs) if a.nhs else None, a.last
        ),
        lambda rows: "\n".join(map(audit_line, rows)),
    ),
    ("settings", "show"): (
        lambda c, a: settings.all_settings(c),
        lambda s: "\n".join(f"{k} = {v}  ({settings.meaning(k)})" for k, v in s.items()),
    ),
    ("settings", "set"): (
        lambda c, a: settings.change_setting(c, a.name, a.value),
        lambda _r: "Setting changed.",
    ),
    ("report", "access"): (
        lambda c, a: _document(
            a,
            lambda render: reports.gp_access_report(c, a.ods_code, a.first_day, a.last_day, render),
            "access_report.write_access_report",
        ),
        _wrote,
    ),
    ("report", "history"): (
        lambda c, a: _document(
            a,
            lambda render: reports.resident_history(c, _resident_id(c, a.nhs), render),
            "history.write_resident_history",
        ),
        _wrote,
    ),
    ("report", "consent-form"): (
        lambda c, a: _document(
            a,
            lambda render: reports.consent_form(
                c, None if a.blank else _resident_id(c, a.nhs), render
            ),
            "consent_form.write_consent_form",
        ),
        _wrote,
    ),
    ("report", "consent-register"): (
        lambda c, a: _document(
            a,
            lambda render: reports.consent_register(c, render, include_former=a.all),
            "consent_register.write_consent_register",
        ),
        _wrote,
    ),
    ("report", "staff"): (
        lambda c, a: _document(
            a,
            lambda render: reports.staff_list(c, a.ods_code, a.first_day, a.last_day, render),
            "staff_list.write_staff_list",
        ),
        _wrote,
    ),
    ("report", "agreement"): (
        lambda c, a: _document(
            a,
            lambda render: reports.agreement_record(c, a.agreement_id, render),
            "agreement.write_agreement",
        ),
        _wrote,
    ),
    ("report", "disclosures"): (
        lambda c, a: _document(
            a,
            lambda render: reports.disclosure_register(c, a.first_day, a.last_day, render),
            "disclosure_register.write_disclosure_register",
        ),
        _wrote,
    ),
    ("report", "dpia"): (report_dpia, _wrote),
    ("report", "recovery"): (report_recovery, _wrote),
    ("disclosure", "log"): (disclosure_log, lambda r: f"Logged disclosure request {r.id}"),
    ("disclosure", "check"): (
        lambda c, a: disclosures.record_checks(
            c, a.request_id, identity_check=a.identity_check, in_writing=a.in_writing
        ),
        describe_disclosure,
    ),
    ("disclosure", "attach"): (disclosure_attach, describe_disclosure),
    ("disclosure", "decide"): (
        lambda c, a: disclosures.decide(
            c,
            a.request_id,
            a.outcome,
            reasons=a.reasons,
            basis=a.basis,
            emergency=a.emergency or "",
            disclosed=a.disclosed or "",
            sent_how=a.sent_how or "",
            sent_on=a.sent_on,
        ),
        describe_disclosure,
    ),
    ("disclosure", "list"): (
        lambda c, a: disclosures.list_requests(c, a.first_day, a.last_day),
        lambda rows: "\n".join(map(disclosure_line, rows)) or "No disclosure requests.",
    ),
    ("disclosure", "show"): (
        lambda c, a: disclosures.get_request(c, a.request_id),
        describe_disclosure,
    ),
    ("disclosure", "document"): (
        disclosure_document,
        lambda r: f"Wrote {r['written']} ({r['bytes']} bytes, kept as {r['kept_as']})",
    ),
    ("backup", "backup"): (
        lambda c, a: backup.back_up(c, a.out),
        lambda r: (
            f"Backed up to {r.path}: {r.entries} audit entries; chain head "
            f"{r.head_seq}:{r.head_hash}"
        ),
    ),
    ("export", "fhir"): (
        export_fhir,
        lambda r: f"Wrote {r['written']} ({r['resources']} FHIR resources)",
    ),
}


def run_action(args: argparse.Namespace) -> int:
    handler, describe = ACTIONS[(args.group, args.verb)]
    ctx = logged_in(args)
    try:
        result = handler(ctx, args)
    finally:
        _close(ctx)
    emit(args, result, describe(result))
    return 0


# -- the parser -----------------------------------------------------------------------------


def record_number(text: str) -> int:
    """A record's number as typed (a session, agreement or refusal): checked here, so a number
    too big for the database is refused as input rather than failing inside a query."""
    try:
        number = v.row_id(int(text))
    except ValueError:
        number = None
    if number is None:
        raise argparse.ArgumentTypeError(f"a number from 1 to {v.MAX_ROW_ID} (got {text!r})")
    return number


def output_file(text: str) -> str:
    """--out: a file in a folder that exists. A folder or a device is refused as typed: the
    finished file replaces what is there, and a device (/dev/null, say) would be replaced too."""
    target = Path(text).resolve()
    if not target.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"a file in a folder that exists (no folder {target.parent})"
        )
    if target.exists() and not target.is_file():
        what = "a folder" if target.is_dir() else "a device or a pipe"
        raise argparse.ArgumentTypeError(f"a file to write ({target} is {what})")
    return text


LAST_DAY_HELP = "last day in force, YYYY-MM-DD: it holds through the end of that day, UK time"
AT_HELP = (
    "YYYY-MM-DD or YYYY-MM-DDTHH:MM, UK time (default now); on the night the clocks go back, "
    "a time they pass twice takes its offset: +01:00 for the first, +00:00 for the second"
)


def _values(enum: type[Enum]) -> str:
    return ", ".join(str(m.value) for m in enum)


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    def option(*flags: str, **kwargs: Any) -> None:
        parser.add_argument(*flags, default=default, **kwargs)

    option("--db", help=f"database file (default {paths.default_database()})")
    option("--user", help=f"act as this member of staff (or {ENV_USER})")
    option(
        "--role",
        choices=[r.value for r in Role],
        help="role to work under, if the account holds several",
    )
    option(
        "--recovery-code",
        help="open with the recovery code from the recovery sheet (also enrols this computer)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default or False,
        help="print results as JSON for scripts",
    )


def _days(a: argparse.ArgumentParser, required: bool = True) -> None:
    """--from and --to: UK calendar days, both included."""
    a.add_argument("--from", dest="first_day", required=required, help="first day, YYYY-MM-DD")
    a.add_argument("--to", dest="last_day", required=required, help="last day, YYYY-MM-DD")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carehome-share",
        description="Safe, recorded access for care-home nurses to residents' GP records. "
        "Run with no command to open the desktop app.",
        epilog=f"Secrets for unattended use: {ENV_PASSWORD} (and CAREHOME_SHARE_NEW_PASSWORD), "
        f"{ENV_USER}, {ENV_RECOVERY_CODE}; {ENV_PASSPHRASE} only for a 0.1 database's old "
        "passphrase until its staff have key slots.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, None)
    parser.add_argument(
        "--demo", action="store_true", help="open the desktop app on a throwaway demo database"
    )
    # The same options are accepted after the command too, where people tend to type them.
    after = argparse.ArgumentParser(add_help=False)
    _global_options(after, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="group", metavar="COMMAND")

    p = commands.add_parser(
        "init", parents=[after], help="create a new encrypted database and the first manager"
    )
    p.add_argument("--home", required=True, help="the care home's name")
    p.add_argument("--manager", required=True, help="the first manager's username")
    p.add_argument("--manager-name", required=True, help="the first manager's full name")
    p.add_argument(
        "--training",
        action="store_true",
        help="a database to practise on with made-up residents: it takes NHS numbers from the "
        "999 range reserved for testing, which a home's database refuses",
    )
    p.set_defaults(func=cmd_init)

    p = commands.add_parser(
        "demo", parents=[after], help="create a database full of synthetic residents"
    )
    p.add_argument("--residents", type=int, default=60)
    p.add_argument("--sessions", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--replace", action="store_true", help="overwrite an existing demo database")
    p.set_defaults(func=cmd_demo, demo_db=True)

    p = commands.add_parser(
        "verify", parents=[after], help="check the file, its structure and the audit chain"
    )
    p.add_argument(
        "--head", help="SEQ:HASH printed on a report: detect a file rolled back behind it"
    )
    p.set_defaults(func=cmd_verify)

    p = commands.add_parser(
        "backup", parents=[after], help="write a checked, encrypted copy of the database (manager)"
    )
    p.add_argument("--out", required=True, type=output_file, help="the backup file to write")
    p.set_defaults(func=run_action, verb="backup")

    p = commands.add_parser(
        "restore",
        parents=[after],
        help="replace the database with a checked backup of this home (close the app everywhere "
        "first); a manager's password opens the backup (its .keys file beside it), or "
        f"--recovery-code / {ENV_RECOVERY_CODE}",
    )
    p.add_argument("backup", help="the backup file")
    p.set_defaults(func=cmd_restore)

    p = commands.add_parser(
        "check-report",
        help="for a GP practice: check a GP access report the home sent (PDF, or its FHIR "
        "export): signature, entries, numbering, totals; needs no database",
    )
    p.add_argument(
        "report", metavar="NEW.pdf", help="the report to check (or an exported FHIR Bundle)"
    )
    p.add_argument("--previous", metavar="OLD.pdf", help="the previous report the home sent you")
    p.add_argument(
        "--fingerprint", metavar="FP", help="the home's key fingerprint, from the staff list"
    )
    p.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the verdict as JSON"
    )
    p.set_defaults(func=cmd_check_report)

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        g = commands.add_parser(name, help=help_text, parents=[after])
        return g.add_subparsers(dest="verb", metavar="ACTION", required=True)

    def action(
        sub: argparse._SubParsersAction, verb: str, help_text: str
    ) -> argparse.ArgumentParser:
        a = sub.add_parser(verb, help=help_text, parents=[after])
        a.set_defaults(func=run_action)
        return a

    s = group("staff", "staff accounts (manager)")
    a = action(
        s, "add", "add a personal account; password from CAREHOME_SHARE_NEW_PASSWORD or a prompt"
    )
    a.add_argument("username")
    a.add_argument("--name", required=True)
    a.add_argument("--roles", required=True, help=f"comma-separated: {_values(Role)}")
    for flag in (
        "--nmc-pin",
        "--nmc-checked-on",
        "--confidentiality-signed-on",
        "--ig-training-on",
    ):
        a.add_argument(flag)
    a.add_argument("--nmc-expires-on", help=f"the registration's {LAST_DAY_HELP}")
    action(s, "list", "list staff")
    a = action(s, "update", "change a staff member's details")
    a.add_argument("username")
    for flag in (
        "--full-name",
        "--roles",
        "--nmc-pin",
        "--confidentiality-signed-on",
        "--ig-training-on",
    ):
        a.add_argument(flag)
    a = action(s, "nmc-check", "record an NMC register check")
    a.add_argument("username")
    a.add_argument("--checked-on", required=True)
    a.add_argument("--expires-on", required=True, help=f"the registration's {LAST_DAY_HELP}")
    a = action(s, "deactivate", "a leaver: the account can no longer log in")
    a.add_argument("username")
    a = action(s, "reset-password", "set a temporary password")
    a.add_argument("username")

    a = action(s, "clear-lockout", "let a locked-out account try again now")
    a.add_argument("username")

    s = group("password", "your own password")
    action(s, "change", "change your password (CAREHOME_SHARE_NEW_PASSWORD or a prompt)")

    s = group("key", "the database key (manager)")
    a = action(
        s,
        "rotate",
        "a new database key: passwords stay, the old recovery code stops opening this file; "
        "nothing else may have the database open",
    )
    a.add_argument("--out", type=output_file, help="also write the new recovery sheet (PDF) here")

    s = group("practice", "GP practices (manager)")
    a = action(s, "add", "add a GP practice")
    a.add_argument("--name", required=True)
    a.add_argument("--ods-code", required=True)
    a.add_argument("--phone")
    action(s, "list", "list GP practices")
    a = action(s, "edit", "correct a practice's name, phone or (while unused) ODS code")
    a.add_argument("practice", metavar="ODS_CODE", help="the practice's code now")
    a.add_argument("--name")
    a.add_argument("--ods-code", help="the corrected code")
    a.add_argument("--phone")
    for verb, text in (
        ("delete", "delete a practice added by mistake (only while nothing refers to it)"),
        ("deactivate", "mark inactive: no longer offered for new residents; reports still work"),
        ("activate", "offer an inactive practice again"),
    ):
        a = action(s, verb, text)
        a.add_argument("practice", metavar="ODS_CODE")

    s = group("agreement", "data sharing agreements (manager)")
    a = action(s, "add", "record a signed data sharing agreement")
    a.add_argument("--ods-code", required=True)
    a.add_argument("--starts-on", required=True)
    a.add_argument("--ends-on", help=f"the agreement's {LAST_DAY_HELP} (default: open-ended)")
    a.add_argument("--review-on")
    a.add_argument("--purposes", required=True, help=f"comma-separated: {_values(Purpose)}")
    a.add_argument("--sections", required=True, help=f"comma-separated: {_values(Section)}")
    a.add_argument("--home-signatory", required=True)
    a.add_argument("--practice-signatory", required=True)
    a = action(s, "list", "list agreements")
    a.add_argument("--ods-code")
    a = action(s, "end", "end an agreement on a date")
    a.add_argument("agreement_id", type=record_number)
    a.add_argument("--ends-on", required=True, help=f"the agreement's {LAST_DAY_HELP}")

    s = group("resident", "residents and their stays")
    a = action(s, "add", "register a resident (manager)")
    a.add_argument("--nhs", required=True, help="NHS number, e.g. '999 000 0018'")
    a.add_argument("--given-name", required=True)
    a.add_argument("--family-name", required=True)
    a.add_argument("--date-of-birth", required=True)
    a.add_argument("--ods-code", required=True, help="the registered GP practice")
    a.add_argument("--room")
    a = action(s, "list", "find residents; current residents first")
    a.add_argument("search", nargs="?", help="name, room or NHS number")
    a = action(s, "show", "a resident's stays and consent history")
    a.add_argument("--nhs", required=True)
    a = action(s, "update", "correct a resident's details (manager)")
    a.add_argument("--nhs", required=True)
    for flag in ("--given-name", "--family-name", "--date-of-birth", "--ods-code", "--room"):
        a.add_argument(flag)
    a = action(s, "admit", "admit or readmit (manager)")
    a.add_argument("--nhs", required=True)
    a.add_argument("--at", help=AT_HELP)
    a.add_argument("--kind", default="long_term", help=f"one of: {_values(StayKind)}")
    a = action(s, "discharge", "discharge (manager)")
    a.add_argument("--nhs", required=True)
    a.add_argument("--at", help=AT_HELP)

    s = group("consent", "consent decisions")
    a = action(s, "record", "record a grant, refusal, objection or withdrawal (manager)")
    a.add_argument("--nhs", required=True)
    a.add_argument("--kind", required=True, help=f"one of: {_values(ConsentKind)}")
    a.add_argument("--decided-by", required=True, help=f"one of: {_values(DecidedBy)}")
    for flag in (
        "--decided-on",
        "--representative-name",
        "--relationship",
        "--authority-reference",
        "--capacity-assessed-on",
        "--capacity-assessment",
        "--people-consulted",
        "--witness",
        "--reason",
        "--review-on",
    ):
        a.add_argument(flag)
    a.add_argument("--expires-on", help=f"a consent's {LAST_DAY_HELP} (default: none)")
    a.add_argument(
        "--lacks-capacity",
        action="store_true",
        help="a capacity assessment found the resident lacks capacity for this decision",
    )
    a.add_argument(
        "--has-capacity",
        action="store_true",
        help="a capacity assessment found the resident has capacity for this decision",
    )
    a.add_argument(
        "--impairment",
        choices=("yes", "no"),
        help="stage 1: an impairment of, or disturbance in, the mind or brain",
    )
    a.add_argument("--impairment-detail", help="the impairment, e.g. vascular dementia")
    a.add_argument(
        "--unable-to",
        help=f"stage 2, what the resident cannot do even with help: any of {_values(Ability)}",
    )
    a.add_argument("--support-steps", help="the steps taken to help the resident decide")
    a.add_argument("--capacity-assessed-by", help="who assessed capacity: name and role")
    a.add_argument("--lpa-registered-on", help="the day the LPA was registered (YYYY-MM-DD)")
    a.add_argument("--authority-seen-on", help="the day the LPA or court order was seen")
    a.add_argument("--authority-seen-by", help="who saw the LPA or court order: name and role")
    a.add_argument("--known-wishes", help="the resident's known wishes and feelings")
    a = action(s, "show", "the decision in force")
    a.add_argument("--nhs", required=True)

    s = group("session", "GP-record access sessions (nurse)")
    a = action(
        s, "open", "ask to open a GP record; refused with reasons when the rules do not allow it"
    )
    a.add_argument("--nhs", required=True)
    a.add_argument("--purpose", required=True, help=f"one of: {_values(Purpose)}")
    a.add_argument("--justification", required=True)
    a = action(s, "sections", "record the parts of the record viewed")
    a.add_argument("session_id", type=record_number)
    a.add_argument("--sections", required=True, help=f"comma-separated: {_values(Section)}")
    a = action(s, "close", "close your session")
    a.add_argument("session_id", type=record_number)
    action(s, "close-stale", "auto-close sessions left open past the limit")
    action(s, "mine", "your sessions today")

    s = group("gp-contact", "phone calls to the GP practice")
    a = action(s, "log", "log a call made instead of record access")
    a.add_argument("--nhs", required=True)
    a.add_argument("--spoke-to", required=True)
    a.add_argument("--reason", required=True)
    a.add_argument("--outcome", required=True)
    a.add_argument("--refusal-id", type=record_number)

    s = group(
        "disclosure",
        "one-off requests for residents' information from others (anyone logs one; the "
        "manager or IG lead checks and decides)",
    )
    a = action(s, "log", "record a request as received")
    a.add_argument("--requester", required=True, help=_values(Requester))
    a.add_argument("--organisation", required=True)
    a.add_argument("--person", required=True, help="who asked")
    a.add_argument(
        "--nhs", required=True, action="append", help="a resident it is about (repeat for more)"
    )
    a.add_argument("--asked", required=True, help="what is asked for")
    a.add_argument("--why", required=True, help="why they say they need it")
    a.add_argument(
        "--basis", required=True, help=f"the lawful basis claimed: {_values(LawfulBasis)}"
    )
    a.add_argument("--received-on", help="YYYY-MM-DD (today without it)")
    a.add_argument("--reference", help="their reference")
    a.add_argument("--identity-check", help="how their identity was verified")
    a.add_argument("--in-writing", action="store_true", help="the request came in writing")
    a.add_argument(
        "--due-on", help="their deadline, YYYY-MM-DD (a subject access request's is set)"
    )
    a = action(s, "check", "record how identity was verified and whether it is now in writing")
    a.add_argument("request_id", type=record_number)
    a.add_argument("--identity-check", required=True)
    a.add_argument("--in-writing", action="store_true")
    a = action(s, "attach", "keep the written request inside the database (at most 5 MB)")
    a.add_argument("request_id", type=record_number)
    a.add_argument("file")
    a = action(s, "decide", "decide: disclose, disclose_part, refuse or ask_more, with reasons")
    a.add_argument("request_id", type=record_number)
    a.add_argument("--outcome", required=True, help=_values(Outcome))
    a.add_argument("--reasons", required=True)
    a.add_argument("--basis", help="the basis relied on, if not the one claimed")
    a.add_argument("--emergency", help="why it could not wait for the checks (vital interests)")
    a.add_argument("--disclosed", help="exactly what was disclosed")
    a.add_argument("--sent-how", help="how it was sent")
    a.add_argument("--sent-on", help="YYYY-MM-DD")
    _days(
        action(s, "list", "list requests received on these days, or all (manager, IG lead)"), False
    )
    a = action(s, "show", "one request with its decisions (manager, IG lead)")
    a.add_argument("request_id", type=record_number)
    a = action(s, "document", "save the written request kept with it (manager, IG lead)")
    a.add_argument("request_id", type=record_number)
    a.add_argument("--out", required=True)

    s = group("audit", "the audit trail (manager)")
    a = action(s, "list", "recent entries, or one resident's")
    a.add_argument("--nhs")
    a.add_argument("--last", type=int, default=50)

    s = group("settings", "the home's settings (manager)")
    action(s, "show", "show settings")
    a = action(s, "set", "change a setting")
    a.add_argument("name", help=", ".join(settings.SETTINGS | settings.IDENTIFIERS))
    a.add_argument("value", help='a whole number, or for an identifier its code ("" clears it)')

    s = group("report", "printed documents, saved as PDF")

    def document(verb: str, help_text: str) -> argparse.ArgumentParser:
        a = action(s, verb, help_text)
        a.add_argument(
            "--out", required=True, type=output_file, help="the PDF file to write (FILE.pdf)"
        )
        return a

    def period(a: argparse.ArgumentParser) -> None:
        a.add_argument("--ods-code", required=True, help="the GP practice")
        _days(a)

    period(document("access", "GP access report for a practice and period (manager)"))
    a = document(
        "history", "a resident's GP record access history, for a subject access request (manager)"
    )
    a.add_argument("--nhs", required=True)
    a = document("consent-form", "consent form, pre-filled for a resident or blank")
    which = a.add_mutually_exclusive_group(required=True)
    which.add_argument("--nhs", help="pre-fill for this resident")
    which.add_argument("--blank", action="store_true", help="a blank form")
    a = document("consent-register", "each resident's consent decision in force (manager)")
    a.add_argument("--all", action="store_true", help="include former residents")
    period(document("staff", "nurses authorised to open a practice's records (manager)"))
    _days(document("disclosures", "the disclosure register for a period (manager, IG lead)"))
    a = document(
        "agreement",
        "a data sharing agreement, with the home's signing key for the practice (manager)",
    )
    a.add_argument("agreement_id", type=record_number, help="as `agreement list` shows it")
    a = action(
        s,
        "dpia",
        "a data protection impact assessment for an agreement, pre-filled from the app (manager)",
    )
    a.add_argument("agreement_id", type=record_number, help="as `agreement list` shows it")
    a.add_argument(
        "--out", required=True, help="FILE.pdf (signed) or FILE.docx (to edit and finish)"
    )
    a.add_argument("--format", choices=("pdf", "docx"), help="instead of the file name's ending")
    document(
        "recovery",
        f"recovery sheet for the safe (manager); the code from --recovery-code, {ENV_RECOVERY_CODE} or a prompt",
    )

    s = group("export", "machine-readable exports for other systems (manager)")
    a = action(
        s, "fhir", "consent decisions, access sessions, refusals and GP calls as a FHIR R4 Bundle"
    )
    _days(a)
    a.add_argument("--ods-code", "--practice", dest="ods_code", help="only this GP practice")
    a.add_argument(
        "--out", required=True, type=output_file, help="the JSON file to write (FILE.json)"
    )
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse and run one command; print a clear message and return a non-zero code on failure."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.group is None:  # app.main opens the desktop app when no command is given
        parser.print_help()
        return 0
    if args.db is None:
        args.db = (
            paths.demo_database() if getattr(args, "demo_db", False) else paths.default_database()
        )
    try:
        return int(args.func(args))
    except AccessRefused as exc:
        _report(
            args,
            exc,
            "REFUSED: "
            + "; ".join(exc.reasons)
            + f"\nRefusal {exc.refusal_id} recorded. Phone the GP practice instead and log the call: carehome-share gp-contact log --refusal-id {exc.refusal_id} ...",
        )
        return EXIT_REFUSED
    except PermissionDenied as exc:
        _report(args, exc, f"REFUSED: {exc}")
        return EXIT_REFUSED
    except DatabaseError as exc:  # met before any check could name it, e.g. a damaged last page
        _report(
            args,
            exc,
            f"error: the database file is damaged ({exc}). Nothing was changed. "
            "'carehome-share verify --recovery-code CODE' names the damaged pages; then restore "
            "the latest backup.",
        )
        return EXIT_LOCKED
    except RoleNeeded as exc:  # the roles by name, then what to type for each
        options = " or ".join(f"--role {role.value}" for role in exc.roles)
        _report(args, exc, f"error: {exc}: add {options}")
        return EXIT_INPUT
    except (VaultError, ValidationError, CarehomeError) as exc:
        _report(args, exc, f"error: {exc}")
        # A lock, a full disk or a folder given as --db is the user's to fix, like bad input.
        locked = isinstance(exc, VaultError) and not isinstance(exc, WrongPassword | FileUnusable)
        return EXIT_LOCKED if locked else EXIT_INPUT


def _report(args: argparse.Namespace, exc: Exception, text: str) -> None:
    if args.json:
        body: dict[str, Any] = {"error": str(exc), "kind": type(exc).__name__}
        if isinstance(exc, ValidationError):
            body["field"] = exc.field
        if isinstance(exc, PermissionDenied):
            body["reasons"] = exc.reasons
        if isinstance(exc, AccessRefused):
            body["refusal_id"] = exc.refusal_id
        print(json.dumps(body, ensure_ascii=False), file=sys.stderr)
    else:
        print(text, file=sys.stderr)
