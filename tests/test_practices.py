"""GP practices corrected, deleted while unused, and marked inactive: each change audited and
bound to the chain (verify stays OK), and a practice's reports still check out afterwards."""

from pathlib import Path

import pytest

from carehome_share import cli
from carehome_share.domain.errors import CarehomeError, NotFound, ValidationError
from carehome_share.reports.access_report import write_access_report
from carehome_share.services import audit as audit_service
from carehome_share.services import practices, reports, residents
from carehome_share.store import audit
from carehome_share.store.files import atomic_output
from tests.conftest import Clock
from tests.factories import ODS, Home

TYPO = "Y05687"  # meant to be Y05678


def _chain_ok(home: Home) -> None:
    result = audit_service.verify(home.ctx)
    assert result.ok, result.problems


def _november_report_checked(home: Home, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """What check-report says of November's GP access report to practice Y05678 (it passes)."""
    report = tmp_path / "Y05678.pdf"
    with atomic_output(report) as out:
        reports.gp_access_report(
            home.ctx, "Y05678", "2026-11-01", "2026-11-30", lambda r: write_access_report(r, out)
        )
    code = cli.run(["check-report", str(report)])
    said = capsys.readouterr().out
    assert code == 0, said
    return said


def _last(home: Home) -> audit.AuditEntry:
    return audit.entries(home.ctx.conn, last=1)[0]


def test_name_and_phone_corrected_on_a_practice_in_use(home: Home) -> None:
    home.add_resident()
    riverside = practices.find_practice(home.ctx, ODS)
    updated = practices.update_practice(
        home.ctx, riverside.id, name="Riverside Medical Centre", phone="01632 960999"
    )
    assert practices.find_practice(home.ctx, ODS) == updated
    assert (updated.name, updated.phone, updated.ods_code) == (
        "Riverside Medical Centre",
        "01632 960999",
        ODS,
    )
    entry = _last(home)
    assert (entry.action, entry.details["changed"]) == ("update_practice", ["name", "phone"])
    assert entry.details["practice"]["ods_code"] == ODS  # in the practice's own numbering
    _chain_ok(home)
    with pytest.raises(ValidationError) as empty:
        practices.update_practice(home.ctx, riverside.id, name="  ")
    assert empty.value.field == "name"


def test_a_mistyped_code_is_corrected_and_the_first_report_checks_out(
    home: Home, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing was recorded under the wrong code but the practice's own set-up, so its running
    numbers start again under the right one, and its first report checks out."""
    hillside = practices.add_practice(home.ctx, "Hillside Surgery", TYPO)
    practices.update_practice(home.ctx, hillside.id, name="Hillside Surgery ")  # no code change
    fixed = practices.update_practice(home.ctx, hillside.id, ods_code="y05678")
    assert fixed.ods_code == "Y05678"
    assert _last(home).details["ods_code_was"] == TYPO
    _chain_ok(home)

    clock.advance(days=1)
    said = _november_report_checked(home, tmp_path, capsys)
    assert "(Y05678) are numbered 1 to 1, none missing" in said  # the correction itself


def test_the_code_of_a_practice_in_use_stays(home: Home) -> None:
    resident = home.add_resident()
    riverside = practices.find_practice(home.ctx, ODS)
    with pytest.raises(ValidationError) as refused:
        practices.update_practice(home.ctx, riverside.id, ods_code="Y09999")
    assert refused.value.field == "ods_code"
    assert "1 resident, 1 data sharing agreement and " in refused.value.expected
    assert "add it as a new practice and mark this one inactive" in refused.value.expected
    assert residents.resident_details(home.ctx, resident.id).record.practice == riverside
    hillside = practices.add_practice(home.ctx, "Hillside Surgery", "Y05678")
    with pytest.raises(ValidationError, match=r"a practice not already added \(Y01234 is\)"):
        practices.update_practice(home.ctx, hillside.id, ods_code=ODS)


def test_an_unused_practice_is_deleted_and_can_be_added_again(home: Home) -> None:
    typo = practices.add_practice(home.ctx, "Hillside Surgery", TYPO)
    practices.set_practice_active(home.ctx, typo.id, False)
    practices.delete_practice(home.ctx, typo.id)
    assert [p.ods_code for p in practices.list_practices(home.ctx)] == [ODS]
    entry = _last(home)
    assert (entry.action, entry.details["ods_code_was"]) == ("delete_practice", TYPO)
    assert "practice" not in entry.details  # about no practice now: no running number
    assert list(entry.binding["rows"].values()) == [None]  # the row's deletion, in the chain
    _chain_ok(home)
    with pytest.raises(NotFound):
        practices.delete_practice(home.ctx, typo.id)
    again = practices.add_practice(home.ctx, "Hillside Surgery", TYPO)
    assert _last(home).details["practice"] == {"ods_code": TYPO, "n": 1}
    assert practices.find_practice(home.ctx, TYPO) == again
    _chain_ok(home)


def _naming(home: Home, practice_id: int) -> list[str]:
    """The actions of the entries that name the practice by id (details or bindings)."""
    return [
        e.action
        for e in audit.entries(home.ctx.conn)
        if e.details.get("practice_id") == practice_id
        or f"practice:{practice_id}" in e.binding.get("rows", {})
    ]


def test_a_deleted_practice_s_id_is_not_given_to_the_next(
    home: Home, clock: Clock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Expected: the newest practice deleted, the next one added gets an id of its own, so the
    entries naming the deleted one are about it alone, and the new one's first report counts
    only its own entries."""
    typo = practices.add_practice(home.ctx, "Hillside Surgery", TYPO)
    practices.delete_practice(home.ctx, typo.id)
    lakeside = practices.add_practice(home.ctx, "Lakeside Surgery", "Y05678")
    assert lakeside.id != typo.id
    home.add_resident()  # registered with Riverside: not about either
    residents.add_resident(home.ctx, next(home.numbers), "New", "Person", "1940-01-01", "Y05678")
    assert _naming(home, typo.id) == ["add_practice", "delete_practice"]
    assert _naming(home, lakeside.id) == ["add_practice", "add_resident"]
    _chain_ok(home)

    clock.advance(days=1)
    said = _november_report_checked(home, tmp_path, capsys)
    assert "(Y05678) are numbered 1 to 2, none missing" in said


def test_a_practice_in_use_is_not_deleted_and_inactive_is_suggested(home: Home) -> None:
    riverside = practices.find_practice(home.ctx, ODS)
    with pytest.raises(CarehomeError) as refused:
        practices.delete_practice(home.ctx, riverside.id)
    assert str(refused.value) == (
        "Riverside Surgery (Y01234) cannot be deleted: 1 data sharing agreement refer to it. "
        "Mark it inactive instead: it is then no longer offered for new residents, and its "
        "records and reports stay."
    )
    printed = practices.add_practice(home.ctx, "Hillside Surgery", "Y05678")
    reports.staff_list(home.ctx, "Y05678", "2026-11-01", "2026-11-21", render=lambda d: None)
    with pytest.raises(CarehomeError, match="1 audit entry about its patients or reports"):
        practices.delete_practice(home.ctx, printed.id)
    assert len(practices.list_practices(home.ctx)) == 2
    _chain_ok(home)


def test_an_inactive_practice_is_not_offered_but_its_residents_keep_it(home: Home) -> None:
    resident = home.add_resident()
    riverside = practices.find_practice(home.ctx, ODS)
    hillside = practices.add_practice(home.ctx, "Hillside Surgery", "Y05678")
    inactive = practices.set_practice_active(home.ctx, riverside.id, False)
    assert not inactive.active and _last(home).action == "deactivate_practice"
    _chain_ok(home)

    with pytest.raises(ValidationError) as refused:
        residents.add_resident(home.ctx, next(home.numbers), "New", "Person", "1940-01-01", ODS)
    assert (refused.value.field, refused.value.expected) == (
        "ods_code",
        "a GP practice in use (Riverside Surgery is marked inactive)",
    )
    kept = residents.update_resident(home.ctx, resident.id, ods_code=ODS, room="12A")
    assert (kept.practice_id, kept.room) == (riverside.id, "12A")
    moved = residents.update_resident(home.ctx, resident.id, ods_code=hillside.ods_code)
    assert moved.practice_id == hillside.id
    with pytest.raises(ValidationError, match="marked inactive"):
        residents.update_resident(home.ctx, resident.id, ods_code=ODS)  # not back to it
    assert reports.gp_access_report(
        home.ctx, ODS, "2026-11-01", "2026-11-30", lambda r: r.practice.name
    ) == ("Riverside Surgery")

    practices.set_practice_active(home.ctx, riverside.id, True)
    assert _last(home).action == "activate_practice"
    residents.update_resident(home.ctx, resident.id, ods_code=ODS)
    _chain_ok(home)
