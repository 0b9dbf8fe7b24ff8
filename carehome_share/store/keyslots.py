"""Key slots: the database key sealed for each member of staff, so opening the file is logging in.

The database key (256 random bits, SQLCipher's raw key) is never stored whole on the PC. Each
staff account has an X25519 key pair. Its private key is sealed with ChaCha20-Poly1305 (RFC 8439)
under a key made from two secrets: the person's password stretched with argon2id (RFC 9106) and
the home's device secret from the OS keychain, combined with HKDF-SHA256 (RFC 5869). The database
key is sealed to each public key with HPKE (RFC 9180, base mode: DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, ChaCha20-Poly1305), as age does for its recipients. So a manager who has the file
open can seal the key to a new person, to a reset account or, after rotating it, to everyone,
without knowing anyone's password; and opening needs the password *and* the device secret: the
keychain alone opens nothing, and neither does the file with a phished password.

Where there is no secure keychain a slot is sealed by the password alone (`device_bound` false),
and the app says so. The slots are kept inside the database (table `key_slot`, bound to it) and
copied to the key file beside it (`<database>.keys`), which is what a login reads before the
database is open. The key file holds nothing secret on its own.

Failed logins while the file is closed cannot be written into it, so they are appended to a
journal beside it (`<database>.logins`), each line sealed to the home's public key with HPKE:
anyone can write it, only the open database can read it, and the next opening moves it into the
audit chain.
"""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carehome_share.store.files import write_atomically

KEY_FILE_FORMAT = "carehome-share key file 1"
_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
_DATABASE_KEY_INFO = b"carehome-share database key v1"
_JOURNAL_INFO = b"carehome-share closed-file login journal v1"
_SLOT_KEY_INFO = b"carehome-share slot key v1"


@dataclass(frozen=True)
class KdfParams:
    """argon2id's cost: memory in KiB, passes, lanes."""

    memory_kib: int
    iterations: int
    lanes: int


# At least 64 MiB and 3 passes, as the Trust issue asks (above OWASP's minimum); 4 lanes use both
# cores here: about 0.15 s per login (benchmarks/login.py).
PASSWORD_KDF = KdfParams(memory_kib=64 * 1024, iterations=3, lanes=4)


class WrongSecret(Exception):
    """The password (or device secret) does not open this slot."""


@dataclass(frozen=True)
class Slot:
    username: str
    public_key: bytes
    salt: bytes
    kdf: KdfParams
    device_bound: bool
    sealed_private_key: bytes  # 12-byte nonce, then the ChaCha20-Poly1305 ciphertext
    sealed_database_key: bytes  # HPKE: encapsulated key, then the ciphertext


@dataclass(frozen=True)
class KeyFile:
    """What a login needs before the database is open; nothing in it is secret."""

    home_id: str
    home_public_key: bytes
    slots: dict[str, Slot]
    in_transition: bool = False  # a 0.1 file whose old key still opens it
    purpose: str = "home"  # or "demo": `demo --replace` deletes nothing else


# -- sealing -----------------------------------------------------------------------------------


def _slot_key(password: str, salt: bytes, kdf: KdfParams, device_secret: bytes | None) -> bytes:
    stretched = hash_secret_raw(
        password.encode("utf-8", "surrogatepass"),  # any text typed or passed in opens or fails
        salt,
        kdf.iterations,
        kdf.memory_kib,
        kdf.lanes,
        32,
        Type.ID,
    )
    return HKDF(hashes.SHA256(), 32, salt, _SLOT_KEY_INFO).derive(
        stretched + (device_secret or b"")
    )


def _binding(username: str, public_key: bytes) -> bytes:
    """Associated data: a sealed private key opens only under its own name and public key."""
    return username.encode() + b"\n" + public_key


def seal_database_key(public_key: bytes, database_key: bytes) -> bytes:
    return _SUITE.encrypt(
        database_key, X25519PublicKey.from_public_bytes(public_key), info=_DATABASE_KEY_INFO
    )


def new_slot(
    username: str, password: str, database_key: bytes, device_secret: bytes | None
) -> Slot:
    """A slot for `username`: a new key pair, its private key sealed under the password (and
    the device secret), the database key sealed to its public key."""
    private_key = X25519PrivateKey.generate()
    public_key = private_key.public_key().public_bytes_raw()
    kdf = PASSWORD_KDF
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    sealed = ChaCha20Poly1305(_slot_key(password, salt, kdf, device_secret)).encrypt(
        nonce, private_key.private_bytes_raw(), _binding(username, public_key)
    )
    return Slot(
        username,
        public_key,
        salt,
        kdf,
        device_secret is not None,
        nonce + sealed,
        seal_database_key(public_key, database_key),
    )


def private_key_of(slot: Slot, password: str, device_secret: bytes | None) -> X25519PrivateKey:
    key = _slot_key(password, slot.salt, slot.kdf, device_secret if slot.device_bound else None)
    nonce, sealed = slot.sealed_private_key[:12], slot.sealed_private_key[12:]
    try:
        raw = ChaCha20Poly1305(key).decrypt(nonce, sealed, _binding(slot.username, slot.public_key))
    except InvalidTag:
        raise WrongSecret() from None
    return X25519PrivateKey.from_private_bytes(raw)


def open_slot(slot: Slot, password: str, device_secret: bytes | None) -> bytes:
    """The database key, or WrongSecret."""
    private_key = private_key_of(slot, password, device_secret)
    try:
        return _SUITE.decrypt(slot.sealed_database_key, private_key, info=_DATABASE_KEY_INFO)
    except InvalidTag:
        raise WrongSecret() from None


def equalise_timing(password: str) -> None:
    """An unknown name costs as much as a wrong password, so names cannot be probed."""
    _slot_key(password, bytes(16), PASSWORD_KDF, None)


def new_home_key_pair() -> tuple[bytes, bytes]:
    """(private, public) raw X25519 bytes for the home: the journal is sealed to it."""
    private_key = X25519PrivateKey.generate()
    return private_key.private_bytes_raw(), private_key.public_key().public_bytes_raw()


# -- the key file beside the database ----------------------------------------------------------


def key_file_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.keys")


def journal_path(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.logins")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def slot_json(slot: Slot) -> dict[str, object]:
    return {
        "username": slot.username,
        "public_key": _b64(slot.public_key),
        "salt": _b64(slot.salt),
        "argon2id": [slot.kdf.memory_kib, slot.kdf.iterations, slot.kdf.lanes],
        "device_bound": slot.device_bound,
        "sealed_private_key": _b64(slot.sealed_private_key),
        "sealed_database_key": _b64(slot.sealed_database_key),
    }


def slot_from_json(data: dict[str, object]) -> Slot:
    """A slot from its JSON form; ValueError when any part is missing or impossible."""
    memory, iterations, lanes = (int(n) for n in data["argon2id"])  # type: ignore[attr-defined]
    slot = Slot(
        str(data["username"]),
        _unb64(data["public_key"]),
        _unb64(data["salt"]),
        KdfParams(memory, iterations, lanes),
        bool(data["device_bound"]),
        _unb64(data["sealed_private_key"]),
        _unb64(data.get("sealed_database_key", "")),  # the database keeps slots without it
    )
    if (
        len(slot.public_key) != 32
        or len(slot.salt) < 8
        or len(slot.sealed_private_key) != 12 + 32 + 16
        or not (1 <= lanes <= 64 and 1 <= iterations <= 100 and 8 * lanes <= memory <= 4 << 20)
    ):
        raise ValueError("a damaged key slot")
    return slot


def write_key_file(target: Path, key_file: KeyFile) -> None:
    text = json.dumps(
        {
            "format": KEY_FILE_FORMAT,
            "home_id": key_file.home_id,
            "home_public_key": _b64(key_file.home_public_key),
            "in_transition": key_file.in_transition,
            "purpose": key_file.purpose,
            "slots": [slot_json(s) for s in sorted(key_file.slots.values(), key=_by_name)],
        },
        indent=1,
    )
    write_atomically(target, text.encode())


def _by_name(slot: Slot) -> str:
    return slot.username


def read_key_file(path: Path) -> KeyFile | None:
    """The key file at `path`, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != KEY_FILE_FORMAT:
            return None
        if len(_unb64(data["home_public_key"])) != 32:
            return None
        slots = [slot_from_json(s) for s in data["slots"]]
        return KeyFile(
            str(data["home_id"]),
            _unb64(data["home_public_key"]),
            {s.username: s for s in slots},
            bool(data.get("in_transition", False)),
            str(data.get("purpose", "home")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# -- the journal of logins that failed while the file was closed -------------------------------


def journal_failure(db_path: Path, home_public_key: bytes, record: dict[str, str]) -> None:
    """Append one sealed line; O_APPEND keeps concurrent writers' lines whole."""
    sealed = _SUITE.encrypt(
        json.dumps(record, sort_keys=True).encode(),
        X25519PublicKey.from_public_bytes(home_public_key),
        info=_JOURNAL_INFO,
    )
    fd = os.open(journal_path(db_path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, _b64(sealed).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _importing(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.name}.logins.importing")


def read_journal(db_path: Path, home_private_key: bytes) -> list[dict[str, str] | None]:
    """Each journal line opened (None for a line that is not the home's: forged or damaged).

    The journal is first renamed aside, so lines appended meanwhile wait for the next import;
    `clear_journal` removes the renamed file once its lines are in the audit chain."""
    importing = _importing(db_path)
    if not importing.exists():
        try:
            os.replace(journal_path(db_path), importing)
        except FileNotFoundError:
            return []
    private_key = X25519PrivateKey.from_private_bytes(home_private_key)
    records: list[dict[str, str] | None] = []
    for line in importing.read_bytes().splitlines():
        try:
            plain = _SUITE.decrypt(_unb64(line.decode("ascii")), private_key, info=_JOURNAL_INFO)
            records.append({k: str(v) for k, v in json.loads(plain).items()})
        except (ValueError, InvalidTag, UnicodeDecodeError, AttributeError):
            records.append(None)
    return records


def clear_journal(db_path: Path) -> None:
    _importing(db_path).unlink(missing_ok=True)
