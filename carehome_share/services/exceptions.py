"""What needs the manager's attention: locked-out accounts, a database still moving to key
slots, refusals, sessions auto-closed, long or ended by a change, sessions on a best-interests
decision their own nurse made, consent reviews due, NMC checks due, agreements ending, GP access
reports due, disclosure requests waiting. Shown as a badge when the app starts."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from carehome_share.domain import validation as v
from carehome_share.domain.consent import consent_state
from carehome_share.domain.model import CloseKind, Practice, Role
from carehome_share.services.context import Context, Tx, read
from carehome_share.services.settings import setting
from carehome_share.store import disclosures, practice_log, repo

LOOK_BACK_DAYS = 7
WARN_DAYS = 30


# How urgent an item is: a date already past; something to see to today (a lockout, a
# recent refusal, a date that is today); a date still to come.
OVERDUE, NOW, UPCOMING = "overdue", "now", "upcoming"
_ORDER = {OVERDUE: 0, NOW: 1, UPCOMING: 2}


@dataclass(frozen=True)
class Attention:
    # lockout, key_slot, refusal, auto_closed, session_ended, long_session, decided_by_self,
    # consent_review, nmc, report_due, agreement, disclosure
    kind: str
    when: datetime | date
    text: str
    resident_id: int | None = None
    staff_id: int | None = None
    urgency: str = NOW
    practice_id: int | None = None  # what a row opens: its resident, staff member or practice


def _dated(kind: str, day: date, today: date, text: str, **about: int | None) -> Attention:
    """An item about a day: overdue once it has passed, upcoming until it comes."""
    urgency = OVERDUE if day < today else UPCOMING if day > today else NOW
    return Attention(kind, day, text, urgency=urgency, **about)  # type: ignore[arg-type]


def _from_today(day: date, today: date) -> str:
    """How far a day is from today, in words: "12 days ago", "tomorrow"."""
    days = (day - today).days
    if days in (-1, 0, 1):
        return ("yesterday", "today", "tomorrow")[days + 1]
    return f"{abs(days)} days ago" if days < 0 else f"in {days} days"


def _urgent_first(item: Attention) -> tuple[int, float]:
    """Overdue, longest overdue first; then today's, newest first; then upcoming, soonest
    first."""
    when = item.when
    moment = (
        when if isinstance(when, datetime) else datetime.combine(when, time(), tzinfo=v.UK)
    ).timestamp()
    return _ORDER[item.urgency], -moment if item.urgency == NOW else moment


def needing_attention(ctx: Context) -> list[Attention]:
    """Everything a manager should look at now, the most urgent first (`_urgent_first`)."""

    def work(tx: Tx) -> list[Attention]:
        today = v.uk_date(tx.now)
        since = tx.now - timedelta(days=LOOK_BACK_DAYS)
        items = _account_items(ctx, tx)
        for row in repo.recent_refusals(tx.conn, since):
            items.append(
                Attention(
                    "refusal",
                    row.at,
                    f"Access refused to {row.staff_name} for {row.resident_name}: {'; '.join(row.reasons)}",
                    row.resident_id,
                    row.staff_id,
                )
            )
        long_minutes = setting(tx.conn, "long_session_minutes")
        for row in repo.recent_unusual_sessions(tx.conn, since, long_minutes):
            kind, what = {
                CloseKind.AUTO_CLOSED: ("auto_closed", "auto-closed (left open)"),
                CloseKind.ENDED: ("session_ended", f"ended by a change: {row.close_reason}"),
            }.get(row.close_kind, ("long_session", f"open {row.minutes:.0f} minutes"))
            items.append(
                Attention(
                    kind,
                    row.opened_at,
                    f"Session by {row.staff_name} on {row.resident_name}'s record {what}",
                    row.resident_id,
                    row.staff_id,
                )
            )
        for row in repo.recent_self_decided_sessions(tx.conn, since):
            items.append(
                Attention(
                    "decided_by_self",
                    row.opened_at,
                    f"Session by {row.staff_name} on {row.resident_name}'s record stands on a "
                    "best-interests decision they made themselves: the same person decided and "
                    "looked",
                    row.resident_id,
                    row.staff_id,
                )
            )
        current = [
            listing
            for listing in repo.search_residents(tx.conn, "", tx.now, limit=100_000)
            if listing.current
        ]
        decisions = repo.consents_by_resident(tx.conn, [c.resident.id for c in current])
        for listing in current:
            state = consent_state(decisions[listing.resident.id], today)
            latest = state.latest
            if (
                state.in_force
                and latest
                and latest.review_on
                and latest.review_on <= today + timedelta(days=WARN_DAYS)
            ):
                day = latest.review_on
                due = "was due" if day < today else "is due"
                items.append(
                    _dated(
                        "consent_review",
                        day,
                        today,
                        f"Consent review for {listing.resident.full_name} {due} "
                        f"{day:%d/%m/%Y}, {_from_today(day, today)}",
                        resident_id=listing.resident.id,
                    )
                )
        check_due = setting(tx.conn, "nmc_check_due_days")
        for member in repo.list_staff(tx.conn):
            if not member.active or Role.NURSE not in member.roles:
                continue
            last_day = member.nmc_expires_on
            if last_day is None:
                items.append(
                    Attention(
                        "nmc",
                        today,
                        f"NMC registration of {member.full_name} has no 'valid until' date: "
                        "record an NMC register check",
                        staff_id=member.id,
                    )
                )
            elif last_day <= today + timedelta(days=WARN_DAYS):
                ago = _from_today(last_day, today)
                items.append(
                    _dated(
                        "nmc",
                        last_day,
                        today,
                        f"NMC registration of {member.full_name} expired: its last day was "
                        f"{last_day:%d/%m/%Y}, {ago}"
                        if last_day < today
                        else f"NMC registration of {member.full_name} is valid until "
                        f"{last_day:%d/%m/%Y} (its last day), {ago}",
                        staff_id=member.id,
                    )
                )
            elif member.nmc_checked_on is None:
                items.append(
                    Attention(
                        "nmc",
                        today,
                        f"NMC register check due for {member.full_name}: never checked",
                        staff_id=member.id,
                    )
                )
            elif (due := member.nmc_checked_on + timedelta(days=check_due)) <= today:
                items.append(
                    _dated(
                        "nmc",
                        due,
                        today,
                        f"NMC register check for {member.full_name} "
                        f"{'was due' if due < today else 'is due'} {due:%d/%m/%Y}, "
                        f"{_from_today(due, today)} (last checked "
                        f"{member.nmc_checked_on:%d/%m/%Y})",
                        staff_id=member.id,
                    )
                )
        practices = {p.id: p for p in repo.list_practices(tx.conn)}
        items += _reports_due(tx, practices, today)
        items += _disclosures_waiting(tx, today)
        for agreement in repo.list_agreements(tx.conn):
            name = practices[agreement.practice_id].name
            last_day, review = agreement.ends_on, agreement.review_on
            if last_day and today <= last_day <= today + timedelta(days=2 * WARN_DAYS):
                items.append(
                    _dated(
                        "agreement",
                        last_day,
                        today,
                        f"Data sharing agreement with {name} is in force until "
                        f"{last_day:%d/%m/%Y} (its last day), {_from_today(last_day, today)}",
                        practice_id=agreement.practice_id,
                    )
                )
            elif (
                agreement.in_force_on(today)
                and review
                and review <= today + timedelta(days=WARN_DAYS)
            ):
                due = "was due" if review < today else "is due"
                items.append(
                    _dated(
                        "agreement",
                        review,
                        today,
                        f"Data sharing agreement with {name} {due} for review "
                        f"{review:%d/%m/%Y}, {_from_today(review, today)}",
                        practice_id=agreement.practice_id,
                    )
                )
        return sorted(items, key=_urgent_first)

    return read(ctx, "view_exceptions", work)


def _reports_due(tx: Tx, practices: dict[int, Practice], today: date) -> list[Attention]:
    """Practices with something recorded about them that no GP access report (or one-practice
    FHIR export) has covered for longer than the setting: what a report proves holds only up
    to the last one sent."""
    due_days = setting(tx.conn, "report_due_days")
    items = []
    for practice_id, practice in practices.items():
        oldest = practice_log.oldest_unreported(tx.conn, practice_id)
        if oldest is not None and oldest <= tx.now - timedelta(days=due_days):
            items.append(
                _dated(
                    "report_due",
                    v.uk_date(oldest + timedelta(days=due_days)),
                    today,
                    f"GP access report due for {practice.name}: what was recorded about its "
                    f"patients since {v.uk_date(oldest):%d/%m/%Y} has not been sent to it yet",
                    practice_id=practice_id,
                )
            )
    return items


def _disclosures_waiting(tx: Tx, today: date) -> list[Attention]:
    """Undecided disclosure requests: those whose deadline (the law's for a subject access
    request, or the requester's) is near or past, and those waiting longer than the setting."""
    waited = setting(tx.conn, "disclosure_attention_days")
    items = []
    for request in disclosures.requests(tx.conn):
        if request.decision is not None:
            continue
        who = f"Disclosure request {request.id} from {request.organisation}"
        resident = request.resident_ids[0] if len(request.resident_ids) == 1 else None
        if request.due_on is not None and request.due_on <= today + timedelta(days=LOOK_BACK_DAYS):
            late = (today - request.due_on).days
            when = (
                f"overdue by {late} day{'s' * (late != 1)} ({request.due_on:%d/%m/%Y})"
                if late > 0
                else f"due {request.due_on:%d/%m/%Y}, {_from_today(request.due_on, today)}"
            )
            items.append(
                _dated(
                    "disclosure",
                    request.due_on,
                    today,
                    f"{who}: reply {when}, not decided yet",
                    resident_id=resident,
                )
            )
        elif request.received_on <= today - timedelta(days=waited):
            items.append(
                Attention(
                    "disclosure",
                    request.received_on,
                    f"{who}, received {request.received_on:%d/%m/%Y}, is waiting for a decision",
                    resident,
                )
            )
    return items


def _account_items(ctx: Context, tx: Tx) -> list[Attention]:
    """Accounts locked out now (the manager clears them on the Staff page), and, while a 0.1
    database is moving to key slots, the accounts that have not logged in since."""
    items = []
    slots = ctx.vault.slots()
    for member in repo.list_staff(tx.conn):
        if not member.active:
            continue
        locked_until = repo.get_credentials(tx.conn, member.id).locked_until
        if locked_until is not None and locked_until > tx.now:
            until = locked_until.astimezone(v.UK).strftime("%H:%M")
            items.append(
                Attention(
                    "lockout",
                    tx.now,
                    f"{member.full_name} is locked out until {until} after repeated wrong "
                    "passwords: clear the lockout on the Staff page once you know it was them",
                    staff_id=member.id,
                )
            )
        if member.username not in slots:
            todo = (
                "has not logged in since the upgrade (their first login converts the account)"
                if ctx.vault.in_transition()
                else "has no key slot: reset their password"
            )
            items.append(
                Attention("key_slot", tx.now, f"{member.full_name} {todo}", staff_id=member.id)
            )
    if ctx.vault.in_transition():
        items.append(
            Attention(
                "key_slot",
                tx.now,
                "This database still opens with its old 0.1 key (keychain or passphrase). Once "
                "everyone has logged in, rotate the key (Settings) to retire it and print the "
                "new recovery sheet.",
            )
        )
    return items
