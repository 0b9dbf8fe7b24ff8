"""Build the people and records tests need through the real services, with sensible defaults."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from carehome_share.domain.errors import AccessRefused
from carehome_share.domain.identifiers import nhs_check_digit, nhs_numbers_in_test_range
from carehome_share.domain.model import ConsentDecision, Resident, Role, Staff
from carehome_share.services import access, auth, consent, practices, residents, staff
from carehome_share.services.context import Context, Login
from carehome_share.store import repo

MANAGER_PASSWORD = "manager password 1"
PASSWORD = "staff password 1"
TEMPORARY_PASSWORD = "temporary from the manager 9"
ODS = "Y01234"


@dataclass
class Home:
    ctx: Context
    clock: object
    manager: Staff
    numbers: Iterator[str] = field(default_factory=nhs_numbers_in_test_range)
    _names: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def set_up(cls, ctx: Context, clock: object) -> "Home":
        manager = auth.set_up_home(
            ctx, "Rose Court Care Home", "manager", "Mary Manager", MANAGER_PASSWORD
        )
        auth.log_in(ctx, "manager", MANAGER_PASSWORD)
        practices.add_practice(ctx, "Riverside Surgery", ODS, "01632 960000")
        practices.add_agreement(
            ctx,
            ODS,
            starts_on="2026-01-01",
            ends_on="2027-12-31",
            review_on="2027-06-30",
            purposes=["medication_check", "clinical_assessment", "care_plan_review"],
            sections=["summary", "medications", "allergies", "problems"],
            home_signatory="Mary Manager",
            practice_signatory="Dr Priya Practice",
        )
        return cls(ctx, clock, manager)

    def as_manager(self) -> Login:
        auth.log_out(self.ctx)
        return auth.log_in(self.ctx, "manager", MANAGER_PASSWORD)

    def log_in(self, who: Staff, role: Role | None = None) -> Login:
        auth.log_out(self.ctx)
        return auth.log_in(self.ctx, who.username, PASSWORD, role)

    def add_staff(self, roles: list[str], **kwargs: object) -> Staff:
        n = next(self._names)
        if "nurse" in roles:
            kwargs.setdefault("nmc_pin", f"{n % 100:02d}A{n:04d}E")
            kwargs.setdefault("nmc_checked_on", "2026-10-01")
            kwargs.setdefault("nmc_expires_on", "2027-09-30")
        member = staff.add_staff(
            self.ctx, f"staff{n}", f"Staff Member {n}", roles, TEMPORARY_PASSWORD, **kwargs
        )
        self.first_login(member.username)
        return member

    def first_login(self, username: str) -> None:
        """The new member of staff logs in once and chooses their own password (the services
        allow nothing else with a temporary one); then the previous login carries on."""
        previous = self.ctx.login
        auth.log_in(self.ctx, username, TEMPORARY_PASSWORD, role=_any_role(self.ctx, username))
        auth.change_own_password(self.ctx, TEMPORARY_PASSWORD, PASSWORD)
        auth.log_out(self.ctx)
        self.ctx.login = previous

    def add_nurse(self, **kwargs: object) -> Staff:
        return self.add_staff(["nurse"], **kwargs)

    def add_resident(
        self, admitted: str | None = "2026-11-01", consent_by: str | None = "resident"
    ) -> Resident:
        n = next(self._names)
        resident = residents.add_resident(
            self.ctx, next(self.numbers), f"Given{n}", f"Family{n}", "1938-05-17", ODS, room=str(n)
        )
        if admitted:
            residents.admit(self.ctx, resident.id, at=admitted)
        if consent_by == "resident":
            consent.record_consent(
                self.ctx, resident.id, "granted", "resident", decided_on="2026-11-01"
            )
        elif consent_by == "best_interests":
            self.best_interests_consent(resident)
        return resident

    def attorney_consent(self, resident: Resident, **changes: object) -> ConsentDecision:
        """Consent given by a health and welfare attorney, with all the paper form records."""
        return consent.record_consent(
            self.ctx, resident.id, "granted", "lpa_attorney", **(ATTORNEY | changes)
        )

    def best_interests_consent(self, resident: Resident) -> None:
        consent.record_consent(
            self.ctx,
            resident.id,
            "granted",
            "best_interests",
            decided_on="2026-11-02",
            lacks_capacity=True,
            capacity_assessed_on="2026-11-02",
            capacity_assessment="Unable to retain information about record sharing (MCA stage 2).",
            representative_name="Mary Manager",
            people_consulted="Daughter; GP; named nurse",
            **TWO_STAGE_TEST,
            known_wishes="Always wanted the nurses to know about her medicines",
        )

    def open_session(
        self, resident: Resident, purpose: str = "medication_check"
    ) -> access.AccessSession:
        return access.open_access_session(
            self.ctx, resident.id, purpose, "Checking medication before the round"
        )

    @property
    def now(self) -> datetime:
        return self.ctx.now()


# What the paper form records of a capacity assessment finding the resident lacks capacity,
# besides the finding, its date and note
TWO_STAGE_TEST: dict[str, Any] = {
    "impairment": True,
    "impairment_detail": "Vascular dementia",
    "unable_to": ["retain"],
    "support_steps": "Explained on two mornings, with her glasses and a large-print leaflet",
    "capacity_assessed_by": "Nina Nurse, registered nurse",
}
# An attorney's consent as the paper form records it (Home.attorney_consent)
ATTORNEY: dict[str, object] = {
    "decided_on": "2026-11-03",
    "lacks_capacity": True,
    "capacity_assessed_on": "2026-11-02",
    "capacity_assessment": "Unable to weigh the information (MCA stage 2).",
    "impairment": True,
    "impairment_detail": "Alzheimer's disease",
    "unable_to": ["understand", "weigh"],
    "support_steps": "Explained twice, in the morning, with a picture leaflet",
    "capacity_assessed_by": "Nina Nurse, registered nurse",
    "representative_name": "Dana Attorney",
    "representative_relationship": "daughter",
    "authority_reference": "LPA-7000-1234-5678",
    "lpa_registered_on": "2024-03-15",
    "authority_seen_on": "2026-11-03",
    "authority_seen_by": "Mary Manager, registered manager",
    "known_wishes": "Wants her daughter to decide about her health records",
}


def nhs_number_starting(prefix: str) -> str:
    """The first valid NHS number that starts with `prefix`: for tests about the ranges UK
    schemes issue and Scotland's CHI dates, which the 999 test range cannot show."""
    width = 9 - len(prefix)
    for n in range(10**width):
        first_nine = f"{prefix}{n:0{width}d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"
    raise ValueError(f"no valid NHS number starts {prefix}")


def _any_role(ctx: Context, username: str) -> Role:
    """Logging in needs a role when several are held: any will do to change a password."""
    return min(repo.find_staff(ctx.conn, username).roles, key=lambda r: r.value)


@dataclass
class November:
    """A small home's November up to a refusal: a session with sections viewed and closed, one
    left open and auto-closed, consent withdrawn, and the nurse's next attempt refused."""

    nurse: Staff
    alice: Resident  # consent by the resident, 01/11/2026, withdrawn 22/11/2026
    bob: Resident  # a best-interests decision
    refusal_id: int


def play_november(home: Home, clock: Any) -> November:
    """Played through the services from 21/11/2026; the nurse is left logged in."""
    ctx = home.ctx
    nurse = home.add_nurse()
    alice = home.add_resident()
    bob = home.add_resident(consent_by="best_interests")
    home.log_in(nurse)
    first = access.open_access_session(
        ctx, alice.id, "medication_check", "Alice: checking the warfarin dose"
    )
    access.record_sections_viewed(ctx, first.id, ["medications", "allergies"])
    clock.advance(minutes=5)
    access.close_access_session(ctx, first.id)
    access.open_access_session(ctx, bob.id, "clinical_assessment", "Bob: left open after a fall")
    clock.advance(minutes=45)
    access.close_stale_sessions(ctx)
    clock.set("2026-11-22T09:00:00")
    home.as_manager()
    consent.record_consent(
        ctx, alice.id, "withdrawn", "resident", reason="Prefers the surgery to phone"
    )
    home.log_in(nurse)
    try:
        access.open_access_session(
            ctx, alice.id, "medication_check", "Alice: second look at the dose"
        )
    except AccessRefused as refused:
        return November(nurse, alice, bob, refused.refusal_id)
    raise AssertionError("access after the withdrawal was allowed")
