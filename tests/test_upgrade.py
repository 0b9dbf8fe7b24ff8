"""Upgrades keep the data: a database made by each release opens in this version, is brought up
to the current schema, and its records and audit chain are intact. Add the next release's file
beside it when its schema changes (tests/fixtures/release-X.Y.Z.db, made with demo data)."""

import shutil
from pathlib import Path

import pytest

from carehome_share import demo
from carehome_share.services import audit, auth, residents
from carehome_share.services.context import Context
from carehome_share.store.schema import SCHEMA_VERSION
from carehome_share.store.vault import Vault

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = {
    # file: (passphrase, recovery code, residents) - synthetic demo data only
    "release-0.1.0.db": (
        "release fixture passphrase",
        "XQPS6-V0S1D-JZ31T-H3J88-TAT4S-Q0A1T-XK35S-W1QD5-C6ZB5-67SPR-NKE01-AGYJ2-DE0G2",
        8,
    ),
}


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_a_released_database_opens_upgraded_and_intact(name: str, tmp_path: Path) -> None:
    passphrase, code, resident_count = RELEASES[name]
    copy = tmp_path / name
    shutil.copy2(FIXTURES / name, copy)
    vault = Vault.open(copy, passphrase=passphrase)
    try:
        assert vault.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        ctx = Context(vault)
        assert audit.verify(ctx).ok
        auth.log_in(ctx, "manager", demo.DEMO_PASSWORD)
        assert len(residents.find_residents(ctx, "")) == resident_count
    finally:
        vault.close()
    Vault.open(copy, recovery_code=code).close()
