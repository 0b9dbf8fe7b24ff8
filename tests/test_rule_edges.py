"""The access rules at their edges, through the services with the clock set: dates and times
out of range or that UK clocks skip or repeat."""

from datetime import UTC, datetime

import pytest

from carehome_share.domain.errors import ValidationError
from carehome_share.services import residents
from carehome_share.store import audit
from tests.factories import Home


def _refused(call, field: str) -> str:
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.field == field
    return str(refused.value)


# -- dates and instants: in range, and times UK clocks show once -----------------------------


def test_a_uk_time_the_clocks_skip_is_refused_and_one_they_repeat_needs_its_offset(
    home: Home,
) -> None:
    resident = home.add_resident(admitted=None)
    admit = residents.admit

    skipped = _refused(lambda: admit(home.ctx, resident.id, "2026-03-29T01:30"), "admitted_at")
    assert "01:30 on 29/03/2026 does not" in skipped
    twice = _refused(lambda: admit(home.ctx, resident.id, "2026-10-25T01:30"), "admitted_at")
    assert "happens twice" in twice and "+01:00" in twice and "+00:00" in twice
    assert residents.resident_details(home.ctx, resident.id).record.stays == ()

    second = admit(home.ctx, resident.id, "2026-10-25T01:30+00:00")  # GMT: the second 01:30
    assert second.admitted_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first = "2026-10-25T01:45+01:00"  # BST: the first 01:45, before the second 01:30
    discharge = residents.discharge
    assert "after the admission" in _refused(
        lambda: discharge(home.ctx, resident.id, first), "discharged_at"
    )


@pytest.mark.parametrize("typed", ["0026-11-29", "0026-11-29T10:00", "9999-12-31", "1899-12-31"])
def test_a_moment_outside_1900_to_2100_is_refused_naming_the_field(home: Home, typed) -> None:
    resident = home.add_resident(admitted=None)
    head = audit.head(home.ctx.conn)
    message = _refused(lambda: residents.admit(home.ctx, resident.id, typed), "admitted_at")
    assert "from 1900 to 2100" in message
    assert audit.head(home.ctx.conn) == head, "nothing written"


def test_instants_are_stored_with_four_digit_years(home: Home) -> None:
    resident = home.add_resident(admitted="1900-01-01T00:00+00:00")
    stored = home.ctx.conn.execute(
        "SELECT admitted_at FROM stay WHERE resident_id = ?", (resident.id,)
    ).fetchone()[0]
    assert stored == "1900-01-01T00:00:00Z"
    assert (
        residents.resident_details(home.ctx, resident.id).record.stays[0].admitted_at.year == 1900
    )
