"""An independent SQLCipher build given every secret the PC's keychain holds cannot open the file.

The outsider is `sqlcipher3-wheels` (a different SQLCipher build, 4.12) in a venv of its own: it
installs a module also named `sqlcipher3`, so it must never go into the app's environment. It
tries each secret as a raw key (`PRAGMA key = "x'HEX'"`) and as a passphrase, and the recovery
code's key shows that the tool itself opens the file when given the right key.
"""

import base64
import json
import subprocess
import sys
import venv
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from carehome_share.services import auth
from carehome_share.services.context import Context
from carehome_share.store import keychain, keyslots, recovery
from carehome_share.store.vault import NotEnrolled, Vault
from tests.conftest import Clock, MemoryKeyring
from tests.factories import MANAGER_PASSWORD, PASSWORD, Home

OUTSIDER_PACKAGE = "sqlcipher3-wheels"

# Run by the outsider's own Python: reads {"db": path, "tries": [[kind, secret], ...]} on stdin,
# prints whether each opened the file, and which SQLCipher and module it used.
OUTSIDER = r"""
import json, sys
import sqlcipher3

job = json.load(sys.stdin)
opened = []
for kind, secret in job["tries"]:
    conn = sqlcipher3.connect(job["db"])
    try:
        if kind == "raw":
            conn.execute("PRAGMA key = \"x'%s'\"" % secret)
        else:
            conn.execute("PRAGMA key = '%s'" % secret.replace("'", "''"))
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        opened.append(True)
    except sqlcipher3.DatabaseError:
        opened.append(False)
    finally:
        conn.close()
version = sqlcipher3.connect(":memory:").execute("PRAGMA cipher_version").fetchone()[0]
print(json.dumps({"opened": opened, "cipher_version": version, "module": sqlcipher3.__file__}))
"""


@pytest.fixture(scope="session")
def outsider_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a separate venv holding the independent SQLCipher build."""
    folder = tmp_path_factory.mktemp("outsider-venv")
    venv.create(folder, with_pip=True)
    python = folder / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            OUTSIDER_PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if install.returncode != 0:
        pytest.fail(
            f"Could not install {OUTSIDER_PACKAGE} from PyPI into a separate venv, so the outsider "
            "test cannot run. It needs network access to PyPI (CI has it); pip said:\n"
            + install.stderr[-2000:],
            pytrace=False,
        )
    return python


def _try(python: Path, db: Path, tries: list[tuple[str, str]]) -> list[bool]:
    run = subprocess.run(
        [str(python), "-c", OUTSIDER],
        input=json.dumps({"db": str(db), "tries": tries}),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(run.stdout)
    # Truly an outsider: its own module and its own SQLCipher build, not the app's.
    assert Path(report["module"]).is_relative_to(python.parent.parent), report["module"]
    assert report["cipher_version"].startswith("4."), report["cipher_version"]
    return report["opened"]


def _as_raw_and_passphrase(secret: str) -> list[tuple[str, str]]:
    """A secret tried both ways: as a raw key when it is 64 hex digits, and as a passphrase."""
    tries = [("passphrase", secret)]
    try:
        if len(bytes.fromhex(secret)) == 32:
            tries.append(("raw", secret))
    except ValueError:
        pass
    return tries


def _key_file_secrets(text: str) -> list[str]:
    """The key file whole, each of its strings, and each base64 value that is 32 bytes long."""
    found = [text]
    data = json.loads(text)
    values = [v for v in data.values() if isinstance(v, str)]
    values += [v for slot in data["slots"] for v in slot.values() if isinstance(v, str)]
    for value in values:
        found.append(value)
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            continue
        if len(raw) == 32:
            found.append(raw.hex())
    return found


def test_no_keychain_secret_nor_the_key_file_opens_the_database(
    outsider_python: Path, db_path: Path, clock: Clock, memory_keyring: MemoryKeyring
) -> None:
    vault, code = Vault.create(db_path)
    home = Home.set_up(Context(vault, clock=clock, workstation="office-pc"), clock)
    home.add_nurse()
    vault.close()
    assert not Path(f"{db_path}-wal").exists()  # everything is in the file the outsider reads

    keychain_secrets = list(memory_keyring.entries.values())
    assert keychain_secrets  # the device secret is there
    key_file_text = keyslots.key_file_path(db_path).read_text()
    tries = [t for s in keychain_secrets for t in _as_raw_and_passphrase(s)]
    tries += [t for s in _key_file_secrets(key_file_text) for t in _as_raw_and_passphrase(s)]
    tries += [("passphrase", MANAGER_PASSWORD), ("passphrase", PASSWORD)]
    # The tool itself works: the recovery code's key opens the file.
    key = recovery.decode(code).hex()
    tries.append(("raw", key))

    opened = _try(outsider_python, db_path, tries)
    assert opened[-1], "the outsider's SQLCipher did not open the file even with the right key"
    assert not any(opened[:-1]), [t for t, ok in zip(tries, opened, strict=True) if ok]
    assert any(kind == "raw" for kind, _secret in tries[:-1])  # the device secret as a raw key


def test_without_a_keychain_the_password_alone_opens_and_the_app_says_so(
    db_path: Path, clock: Clock
) -> None:
    keyring.set_keyring(fail.Keyring())  # the memory_keyring fixture restores the backend
    assert not keychain.available()
    assert "no secure keychain" in keychain.describe()
    vault, _code = Vault.create(db_path)
    assert vault.device_secret_here() is None
    home = Home.set_up(Context(vault, clock=clock, workstation="office-pc"), clock)
    nurse = home.add_nurse()
    assert {name: slot.device_bound for name, slot in vault.slots().items()} == {
        "manager": False,
        nurse.username: False,
    }
    vault.close()
    key_file = keyslots.read_key_file(keyslots.key_file_path(db_path))
    assert key_file is not None
    assert not any(slot.device_bound for slot in key_file.slots.values())
    for username, password in [("manager", MANAGER_PASSWORD), (nurse.username, PASSWORD)]:
        opened = Vault.open_as(db_path, username, password)
        try:
            auth.log_in(Context(opened, clock=clock), username, password)
        finally:
            opened.close()


def test_a_pc_without_a_keychain_cannot_use_a_slot_bound_to_a_device(db_path: Path) -> None:
    vault, _code = Vault.create(db_path)
    auth.set_up_home(
        Context(vault), "Rose Court Care Home", "manager", "Mary Manager", MANAGER_PASSWORD
    )
    vault.close()
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NotEnrolled, match="no secure keychain"):
        Vault.open_as(db_path, "manager", MANAGER_PASSWORD)
