"""The registered manager's first steps in a new home, in the order the rules need them: a GP
practice, its data sharing agreement, nurses with their NMC checks, residents, consent. Each is
worked out from the records whenever it is asked for; nothing about it is stored.

A step is done once the home has one of it (a nurse with a current NMC check, a resident with
a consent decision): the list teaches the order of setting up, and an established home, with
one new resident still to be asked, does not see it again. What is left shows beside each step
("38 of 39 with a decision recorded"); keeping up is Needs attention's work."""

from dataclasses import dataclass

from carehome_share.domain import validation as v
from carehome_share.domain.model import Role
from carehome_share.services.context import Context, Tx, read
from carehome_share.store import repo


@dataclass(frozen=True)
class Step:
    key: str  # practice, agreement, staff, residents, consent
    text: str
    done: bool
    progress: str  # what there is so far, in words
    resident_id: int | None = None  # consent: the first resident with no decision recorded


def first_steps(ctx: Context) -> list[Step]:
    def work(tx: Tx) -> list[Step]:
        today = v.uk_date(tx.now)
        practices = [p for p in repo.list_practices(tx.conn) if p.active]
        agreements = [
            a for a in repo.list_agreements(tx.conn) if a.ends_on is None or a.ends_on >= today
        ]
        nurses = [s for s in repo.list_staff(tx.conn) if s.active and Role.NURSE in s.roles]
        unchecked = [s for s in nurses if s.nmc_expires_on is None or s.nmc_expires_on < today]
        resident_count, waiting = repo.residents_without_consent(tx.conn, tx.now)
        decided = resident_count - len(waiting)
        return [
            Step(
                "practice",
                "Add your residents' GP practice",
                bool(practices),
                ", ".join(p.name for p in practices) or "No GP practice yet",
            ),
            Step(
                "agreement",
                "Record the data sharing agreement signed with it",
                bool(agreements),
                _count(len(agreements), "agreement", "agreements") + " in force or to come",
            ),
            Step(
                "staff",
                "Add the nurses, with their NMC register checks",
                len(unchecked) < len(nurses),
                _count(len(nurses), "nurse", "nurses")
                + (f", {len(unchecked)} without a current NMC check" if unchecked else ""),
            ),
            Step(
                "residents",
                "Add and admit your residents",
                resident_count > 0,
                _count(resident_count, "resident", "residents") + " here now",
            ),
            Step(
                "consent",
                "Record each resident's consent decision",
                decided > 0,
                f"{decided} of {resident_count} with a decision recorded"
                if resident_count
                else "No residents here yet",
                waiting[0] if waiting else None,
            ),
        ]

    return read(ctx, "view_exceptions", work)


def _count(n: int, one: str, many: str) -> str:
    return f"{'No' if n == 0 else n} {one if n == 1 else many}"
