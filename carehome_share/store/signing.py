"""The home's signing key, its fingerprint, and signed tree heads of the audit log.

The key is ECDSA on the NIST P-256 curve with SHA-256. Ed25519 would do for tree heads, but PDF
readers (Adobe's, poppler's `pdfsig`) check ECDSA P-256 signatures and not all check Ed25519,
and the reports are signed (PAdES, pyHanko) under a certificate of this same key, so a practice
records one fingerprint for both.

The key is made at schema 4 (`give_signing_key`, run for new files and upgraded ones) and kept
inside the encrypted database (`vault_identity.signing_key`, PKCS#8 DER). It is derived with
HKDF-SHA256 from the home's X25519 private key (made at schema 3, kept beside it, and copied by
every backup), so a backup taken before the upgrade and restored after it is given the very same
key: the fingerprint the practices hold never changes with a restore. Rotating the database key
(`Vault.rotate_key`) leaves it alone.

The fingerprint is SHA-256 of the public key's DER SubjectPublicKeyInfo, written as 16 groups of
4 hex digits. A practice is given it once (Settings page, authorised staff list) and compares
it with the key each report carries.

A signed tree head says "the home's audit log had SIZE entries with Merkle root ROOT
(store/merkle.py) at TIME". What is signed is this text, UTF-8, each line ending in one line
feed, nothing else (no spaces at line ends, no byte order mark):

    carehome-share signed tree head v1
    home: <the home id: lower-case letters, digits and hyphens, 1 to 64>
    size: <the number of entries, decimal, no leading zeros>
    root: <the Merkle tree root, 64 lower-case hex digits>
    time: <UTC, YYYY-MM-DDTHH:MM:SSZ>

The signature is ECDSA-SHA256 over those bytes, DER-encoded (RFC 3279 Ecdsa-Sig-Value), as X.509
and PDF signatures are. `verify_signed_head` needs only the public key and the head: no database.
"""

import base64
import binascii
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:  # vault imports this module for its schema-4 fix-up
    from carehome_share.store.merkle import Proofs
    from carehome_share.store.vault import Connection, Vault

HEAD_FORMAT = "carehome-share signed tree head v1"
_CURVE = ec.SECP256R1()
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of P-256's group
_DERIVATION_INFO = b"carehome-share home signing key v1: ECDSA P-256"
_HOME_ID = re.compile(r"[a-z0-9-]{1,64}")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_CERTIFICATE_YEARS = 30  # the key lives as long as the home's database
_COMMON_NAME_MAX = 64  # X.520's upper bound for a common name, counted in UTF-8 bytes


class SigningError(ValueError):
    """A tree head or key that cannot be signed or read as given."""


# -- the key ------------------------------------------------------------------------------------


def derive_private_key(seed: bytes) -> bytes:
    """A P-256 private key (PKCS#8 DER) made from 32 secret random bytes: HKDF-SHA256 gives 384
    bits, reduced into [1, n - 1] (FIPS 186-5 A.2.1, so the bias is negligible)."""
    if len(seed) < 32:
        raise SigningError("the seed of a signing key must be at least 32 secret bytes")
    okm = HKDF(hashes.SHA256(), 48, salt=None, info=_DERIVATION_INFO).derive(seed)
    scalar = int.from_bytes(okm, "big") % (_ORDER - 1) + 1
    return ec.derive_private_key(scalar, _CURVE).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def give_signing_key(conn: "Connection", _found: int, _purpose: str) -> None:
    """Schema 4's fix-up: the home's signing key, for a new file and an upgraded one alike."""
    (home_private_key,) = conn.execute("SELECT private_key FROM vault_identity").fetchone()
    conn.execute(
        "UPDATE vault_identity SET signing_key = ? WHERE id = 1",
        (derive_private_key(bytes(home_private_key)),),
    )


class SigningKey:
    """The home's private signing key, as read from the database."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise SigningError("the home's signing key must be on the P-256 curve")
        self.private_key = private_key

    @classmethod
    def from_der(cls, der: bytes) -> "SigningKey":
        key = serialization.load_der_private_key(der, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SigningError("the stored signing key is not an ECDSA key")
        return cls(key)

    @classmethod
    def of(cls, vault: "Vault") -> "SigningKey":
        return cls.from_der(vault.signing_key())

    @property
    def public_key_der(self) -> bytes:
        """The DER SubjectPublicKeyInfo: what the fingerprint is taken of."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_key_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key_der)

    def sign(self, head: "TreeHead") -> "SignedTreeHead":
        signature = self.private_key.sign(head.signed_bytes(), ec.ECDSA(hashes.SHA256()))
        return SignedTreeHead(head, signature)

    def certificate(self, home_name: str, not_before: datetime) -> x509.Certificate:
        """A self-signed certificate of the key for signing PDFs: subject and issuer the home's
        name, valid for 30 years from `not_before` (the home's set-up), key usage digital
        signature and non-repudiation. Its serial number comes from the key, so every copy
        names the same key the same way; what a practice checks is the fingerprint."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _common_name(home_name))])
        public_key = self.private_key.public_key()
        start = not_before.astimezone(UTC).replace(microsecond=0)
        serial = int.from_bytes(hashlib.sha256(self.public_key_der).digest()[:16], "big") >> 1
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public_key)
            .serial_number(serial or 1)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365 * _CERTIFICATE_YEARS + 8))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # X.509's nonRepudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self.private_key, hashes.SHA256())
        )


@dataclass(frozen=True)
class DocumentKey:
    """What signs a document: the home's private key and its certificate."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def document_key(conn: "Connection") -> DocumentKey:
    """The home's signing key and certificate (named after the home, dated from its set-up)."""
    (der,) = conn.execute("SELECT signing_key FROM vault_identity").fetchone()
    name, created = conn.execute("SELECT name, created_at FROM home WHERE id = 1").fetchone()
    key = SigningKey.from_der(bytes(der))
    since = datetime.strptime(created, _TIME).replace(tzinfo=UTC)
    return DocumentKey(key.private_key, key.certificate(name, since))


def load_public_key(public_key: bytes | str) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its DER SubjectPublicKeyInfo or PEM text."""
    data = public_key.encode("ascii") if isinstance(public_key, str) else public_key
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"not a public key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError("not an ECDSA P-256 public key")
    return key


def _common_name(home_name: str) -> str:
    """The home's name as its certificate holds it, cut to the bound in whole characters (a
    Welsh "ŵ" is two bytes). pyHanko compares names as RFC 4518 prepares them, which refuses
    some (an emoji newer than its tables, right-to-left letters among left-to-right ones):
    such a name is held in plain letters instead. A practice checks the key's fingerprint, not
    this name, and no name may stop the home signing."""
    name = (
        (home_name.strip() or "Care home")
        .encode()[:_COMMON_NAME_MAX]
        .decode("utf-8", "ignore")
        .strip()
    )
    try:
        _ = asn1_x509.Name.build({"common_name": name}).hashable  # prepares it, or refuses
    except ValueError:
        plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        name = " ".join(plain.split()) or "Care home"
    return name


def fingerprint(public_key: bytes | str | ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo as 16 groups of 4 upper-case hex digits."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key = load_public_key(public_key)
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, 64, 4))


def same_fingerprint(typed: str, fingerprint_text: str) -> bool:
    """Whether a fingerprint as someone typed it (any case, spaces, colons or hyphens) is this
    one."""

    def bare(text: str) -> str:
        return re.sub(r"[\s:-]", "", text).upper()

    return len(bare(typed)) == 64 and bare(typed) == bare(fingerprint_text)


# -- signed tree heads -----------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHead:
    """The audit log's Merkle tree at a moment: `size` entries with root `root`."""

    home_id: str
    size: int
    root: bytes
    at: datetime

    def signed_bytes(self) -> bytes:
        """The canonical form that is signed (see the module's description)."""
        if not isinstance(self.home_id, str) or not _HOME_ID.fullmatch(self.home_id):
            raise SigningError(f"a home id is 1 to 64 of a-z, 0-9 and '-', not {self.home_id!r}")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 0:
            raise SigningError(f"a tree size is a whole number from 0, not {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise SigningError("a tree root is a 32-byte SHA-256 hash")
        if self.at.tzinfo is None or self.at.microsecond:
            raise SigningError("a tree head's time is in UTC, to the second")
        return (
            f"{HEAD_FORMAT}\n"
            f"home: {self.home_id}\n"
            f"size: {self.size}\n"
            f"root: {self.root.hex()}\n"
            f"time: {self.at.astimezone(UTC).strftime(_TIME)}\n"
        ).encode("ascii")


@dataclass(frozen=True)
class SignedTreeHead:
    head: TreeHead
    signature: bytes  # ECDSA-SHA256, DER

    def to_json(self) -> dict[str, Any]:
        """For a document's attachment: the head's fields as text, the signature in base64."""
        return {
            "format": HEAD_FORMAT,
            "home_id": self.head.home_id,
            "size": self.head.size,
            "root": self.head.root.hex(),
            "time": self.head.at.astimezone(UTC).strftime(_TIME),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SignedTreeHead":
        try:
            if data["format"] != HEAD_FORMAT:
                raise SigningError(f"not a {HEAD_FORMAT}: {data['format']!r}")
            at = datetime.strptime(data["time"], _TIME).replace(tzinfo=UTC)
            head = TreeHead(data["home_id"], data["size"], bytes.fromhex(data["root"]), at)
            signature = base64.b64decode(data["signature"], validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            if isinstance(exc, SigningError):
                raise
            raise SigningError(f"not a signed tree head: {exc!r}") from None
        return cls(head, signature)


def verify_signed_head(public_key: bytes | str, signed: SignedTreeHead) -> bool:
    """True when the home whose public key (DER or PEM) is given signed exactly this head. Needs
    no database: a GP practice runs it on what a report carries."""
    try:
        key = load_public_key(public_key)
        key.verify(signed.signature, signed.head.signed_bytes(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, SigningError):
        return False
    return True


def sign_proofs(key: SigningKey, home_id: str, proofs: "Proofs", at: datetime) -> SignedTreeHead:
    """The signed head of a tree built by `merkle.prove_log` (with the proofs a document
    carries), at `at` (cut to the second)."""
    moment = at.astimezone(UTC).replace(microsecond=0)
    return key.sign(TreeHead(home_id, proofs.size, proofs.root, moment))


def signed_head_now(vault: "Vault", at: datetime | None = None) -> SignedTreeHead:
    """The signed head of the whole audit log as it is now (read in one snapshot)."""
    from carehome_share.store import merkle  # merkle reads the log through vault, which needs us

    with vault.snapshot() as conn:
        proofs = merkle.prove_log(conn)
        home_id = vault.home_id
    return sign_proofs(SigningKey.of(vault), home_id, proofs, at or datetime.now(UTC))
