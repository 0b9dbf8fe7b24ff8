"""The home's signing key: made at set-up and at the upgrade to schema 4, kept for life (reopening,
rotating the database key, restoring a backup from before the upgrade), shown as a fingerprint
in Settings and on the authorised staff list; and signed tree heads that a GP practice checks
with the public key alone."""

import dataclasses
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader
from reportlab.pdfgen import canvas

from carehome_share.domain.errors import NotFound, PermissionDenied
from carehome_share.reports.agreement import write_agreement
from carehome_share.reports.signature import SIGNATURE_ROOM, Signer, sign
from carehome_share.reports.staff_list import write_staff_list
from carehome_share.services import reports, settings, staff
from carehome_share.services.context import Context
from carehome_share.store import audit, merkle, signing
from carehome_share.store.signing import SignedTreeHead, SigningKey, TreeHead
from carehome_share.store.vault import Vault
from tests.factories import ODS, Home
from tests.test_upgrade import FIXTURES, RELEASES, back_to_schema_4

FINGERPRINT = re.compile(r"([0-9A-F]{4} ){15}[0-9A-F]{4}")
AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def pdf_text(pdf: bytes) -> str:
    """Every page's text as one line of words."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def fingerprint_of(vault: Vault) -> str:
    return SigningKey.of(vault).fingerprint


# -- the key: made once, kept for life ----------------------------------------------------------


def test_a_new_database_has_a_p256_signing_key(vault: Vault) -> None:
    key = SigningKey.of(vault)
    assert isinstance(key.private_key.curve, ec.SECP256R1)
    assert FINGERPRINT.fullmatch(key.fingerprint)
    assert key.fingerprint == signing.fingerprint(key.public_key_der)
    assert key.fingerprint == signing.fingerprint(key.public_key_pem)
    # the fingerprint is SHA-256 of the DER SubjectPublicKeyInfo
    assert (
        key.fingerprint.replace(" ", "") == hashlib.sha256(key.public_key_der).hexdigest().upper()
    )


def test_each_home_has_its_own_key(tmp_path: Path) -> None:
    one, _ = Vault.create(tmp_path / "one.db")
    two, _ = Vault.create(tmp_path / "two.db")
    assert fingerprint_of(one) != fingerprint_of(two)
    one.close()
    two.close()


def test_the_key_is_the_same_after_reopening(db_path: Path) -> None:
    vault, code = Vault.create(db_path)
    before = fingerprint_of(vault)
    vault.close()
    reopened = Vault.open_with_recovery_code(db_path, code)
    assert fingerprint_of(reopened) == before
    reopened.close()


def test_rotating_the_database_key_keeps_the_signing_key(home: Home) -> None:
    ctx = home.ctx
    before = fingerprint_of(ctx.vault)
    new_code = staff.rotate_key(ctx)
    assert fingerprint_of(ctx.vault) == before
    path = ctx.vault.path
    ctx.vault.close()
    reopened = Vault.open_with_recovery_code(path, new_code)
    assert fingerprint_of(reopened) == before
    reopened.close()


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_an_upgraded_release_is_given_a_signing_key(name: str, tmp_path: Path) -> None:
    passphrase, code, _residents = RELEASES[name]
    copy = tmp_path / name
    shutil.copy2(FIXTURES / name, copy)
    vault = Vault.open_with_old_passphrase(copy, passphrase)
    fingerprint = fingerprint_of(vault)
    assert FINGERPRINT.fullmatch(fingerprint)
    vault.close()
    reopened = Vault.open_with_recovery_code(copy, code)
    assert fingerprint_of(reopened) == fingerprint
    reopened.close()


def test_a_backup_from_before_the_upgrade_is_given_the_same_key(db_path: Path) -> None:
    """A schema-3 file (as every backup made before this version is) that is restored after the
    upgrade gets the key the live file got, so the practices' fingerprint still holds: the key
    is derived from the home's X25519 key, which every backup carries."""
    vault, code = Vault.create(db_path)
    before = fingerprint_of(vault)
    back_to_schema_4(vault)
    conn = vault.conn
    conn.execute("DROP TABLE practice_entry")  # back to schema 3, as before this version
    conn.execute("DROP TABLE merkle_chunk")
    conn.execute("ALTER TABLE vault_identity DROP COLUMN signing_key")
    conn.execute("PRAGMA user_version = 3")
    vault.close()
    upgraded = Vault.open_with_recovery_code(db_path, code)
    assert upgraded.conn.execute("PRAGMA user_version").fetchone()[0] >= 4
    assert fingerprint_of(upgraded) == before
    upgraded.close()


# -- signed tree heads ----------------------------------------------------------------------------


@pytest.fixture
def key(vault: Vault) -> SigningKey:
    return SigningKey.of(vault)


def _head(vault: Vault, size: int = 7, root: bytes = b"\x42" * 32) -> TreeHead:
    return TreeHead(vault.home_id, size, root, AT)


def test_a_signed_head_verifies_with_the_public_key_alone(vault: Vault, key: SigningKey) -> None:
    signed = key.sign(_head(vault))
    assert signing.verify_signed_head(key.public_key_der, signed)
    assert signing.verify_signed_head(key.public_key_pem, signed)
    assert signing.verify_signed_head(key.public_key_pem.encode(), signed)
    carried = SignedTreeHead.from_json(json.loads(json.dumps(signed.to_json())))
    assert carried == signed
    assert signing.verify_signed_head(key.public_key_der, carried)


@pytest.mark.parametrize(
    "change",
    [
        {"size": 8},
        {"size": 6},
        {"root": b"\x43" + b"\x42" * 31},
        {"at": AT + timedelta(seconds=1)},
        {"home_id": "00000000-0000-4000-8000-000000000000"},
    ],
    ids=["size+1", "size-1", "root", "time", "home id"],
)
def test_a_signed_head_with_anything_changed_fails(
    vault: Vault, key: SigningKey, change: dict[str, object]
) -> None:
    signed = key.sign(_head(vault))
    altered = SignedTreeHead(dataclasses.replace(signed.head, **change), signed.signature)
    assert not signing.verify_signed_head(key.public_key_der, altered)


def test_a_signed_head_fails_under_another_key_or_with_its_signature_damaged(
    vault: Vault, key: SigningKey, tmp_path: Path
) -> None:
    signed = key.sign(_head(vault))
    other, _ = Vault.create(tmp_path / "other.db")
    assert not signing.verify_signed_head(SigningKey.of(other).public_key_der, signed)
    other.close()
    damaged = bytearray(signed.signature)
    damaged[-1] ^= 1
    assert not signing.verify_signed_head(
        key.public_key_der, SignedTreeHead(signed.head, bytes(damaged))
    )
    assert not signing.verify_signed_head(b"not a key", signed)
    x25519 = vault.identity()[1]  # the home's other public key is not a signing key
    assert not signing.verify_signed_head(x25519, signed)


def test_the_signed_bytes_are_the_documented_text(vault: Vault) -> None:
    head = TreeHead("0a1b-2c", 1234, bytes(range(32)), AT)
    assert head.signed_bytes() == (
        b"carehome-share signed tree head v1\n"
        b"home: 0a1b-2c\n"
        b"size: 1234\n"
        b"root: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        b"time: 2026-11-21T10:00:00Z\n"
    )
    for bad in (
        TreeHead("Home\nsize: 1", 1, bytes(32), AT),
        TreeHead("home", -1, bytes(32), AT),
        TreeHead("home", 1, bytes(31), AT),
        TreeHead("home", 1, bytes(32), AT.replace(tzinfo=None)),
        TreeHead("home", 1, bytes(32), AT.replace(microsecond=5)),
    ):
        with pytest.raises(signing.SigningError):
            bad.signed_bytes()


def test_the_signed_head_of_the_log_now(home: Home) -> None:
    vault = home.ctx.vault
    signed = signing.signed_head_now(vault, AT)
    proofs = merkle.prove_log(vault.conn)
    assert (signed.head.home_id, signed.head.size, signed.head.root, signed.head.at) == (
        vault.home_id,
        proofs.size,
        proofs.root,
        AT,
    )
    assert signed.head.size == audit.head(vault.conn)[0] > 0
    assert signing.verify_signed_head(SigningKey.of(vault).public_key_pem, signed)


def test_verifying_needs_no_database(vault: Vault, key: SigningKey) -> None:
    """What a GP practice runs from a report: with SQLCipher unavailable altogether."""
    signed = key.sign(_head(vault))
    script = (
        "import json, sys\n"
        "sys.modules['sqlcipher3'] = None  # any import of the database driver fails\n"
        "from carehome_share.store.signing import SignedTreeHead, verify_signed_head\n"
        "data = json.loads(sys.stdin.read())\n"
        "head = SignedTreeHead.from_json(data['head'])\n"
        "print(verify_signed_head(data['key'], head))\n"
    )
    given = json.dumps({"head": signed.to_json(), "key": key.public_key_pem})
    result = subprocess.run(
        [sys.executable, "-c", script], input=given, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "True"


# -- the certificate for signing PDFs -----------------------------------------------------------


def test_the_certificate_is_self_signed_for_the_home_and_long_lived(key: SigningKey) -> None:
    certificate = key.certificate("Rose Court Care Home", AT)
    name = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert name == "Rose Court Care Home"
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert certificate.not_valid_before_utc == AT
    assert certificate.not_valid_after_utc >= AT + timedelta(days=365 * 30)
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signing.fingerprint(spki) == key.fingerprint
    # the same key and home give the same serial number and validity every time
    again = key.certificate("Rose Court Care Home", AT)
    assert again.serial_number == certificate.serial_number
    assert key.certificate("A" * 100, AT).subject.rfc4514_string() == "CN=" + "A" * 64


@pytest.mark.parametrize(
    ("home_name", "named"),
    [
        ("Tŷ Gwyn " + "ŵ" * 40, "Tŷ Gwyn " + "ŵ" * 27),  # 64 bytes end inside a "ŵ"
        ("\N{HOUSE BUILDING} Rose Court", "Rose Court"),  # newer than X.509's tables
        (
            "Rose Court \N{ARABIC LETTER DAL}\N{ARABIC LETTER ALEF}\N{ARABIC LETTER REH}",
            "Rose Court",
        ),
        ("\N{HOUSE BUILDING}", "Care home"),
    ],
)
def test_any_home_name_signs_within_the_room_kept_for_the_signature(
    key: SigningKey, home_name: str, named: str
) -> None:
    """The signature's room is fixed (no dummy signature measures it) and a long name fits; a
    name X.509 cannot hold as typed is held in plain letters, and the home still signs."""
    blank = io.BytesIO()
    page = canvas.Canvas(blank)
    page.showPage()
    page.save()
    certificate = key.certificate(home_name, AT)
    signed = sign(blank.getvalue(), Signer(key.private_key, certificate), "test")
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert signature.signer_cert.subject.native["common_name"] == named
    assert 1000 < len(signature.pkcs7_content.rstrip(b"\0")) < SIGNATURE_ROOM / 2


def test_a_typed_fingerprint_is_recognised(key: SigningKey) -> None:
    shown = key.fingerprint
    assert signing.same_fingerprint(shown.lower().replace(" ", ":"), shown)
    assert signing.same_fingerprint(shown.replace(" ", ""), shown)
    assert not signing.same_fingerprint(shown[:-1] + ("0" if shown[-1] != "0" else "1"), shown)
    assert not signing.same_fingerprint(shown[:20], shown)


# -- where the fingerprint is shown ---------------------------------------------------------------


def test_the_staff_list_prints_the_fingerprint(home: Home) -> None:
    home.add_nurse()
    out = io.BytesIO()
    reports.staff_list(
        home.ctx, ODS, "2026-11-01", "2026-11-30", lambda document: write_staff_list(document, out)
    )
    text = pdf_text(out.getvalue())
    fingerprint = fingerprint_of(home.ctx.vault)
    assert reports.home_fingerprint(home.ctx) == fingerprint
    assert f"The home's signing key Fingerprint (SHA-256 of the public key): {fingerprint}" in text


def test_the_agreement_prints_the_fingerprint_for_both_parties_to_keep(home: Home) -> None:
    out = io.BytesIO()
    reports.agreement_record(home.ctx, 1, lambda record: write_agreement(record, out))
    text = pdf_text(out.getvalue())
    fingerprint = fingerprint_of(home.ctx.vault)
    assert f"The home's signing key Fingerprint (SHA-256 of the public key): {fingerprint}" in text
    assert "Data sharing agreement: Rose Court Care Home and Riverside Surgery" in text
    assert "Riverside Surgery (ODS code Y01234)" in text
    assert "Last day in force 31/12/2027" in text and "Review by 30/06/2027" in text
    assert "Signed for the practice by Dr Priya Practice" in text
    assert "Medication check" in text and "Medications" in text
    assert "closes itself after 30 minutes" in text  # the settings in force, quoted
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.details["document"]) == ("print_reports", "data_sharing_agreement")
    assert entry.details["agreement_id"] == 1

    settings.change_setting(home.ctx, "session_limit_minutes", "45")
    out = io.BytesIO()
    reports.agreement_record(home.ctx, 1, lambda record: write_agreement(record, out))
    assert "closes itself after 45 minutes" in pdf_text(out.getvalue())


def test_only_a_manager_prints_an_agreement_and_a_wrong_id_is_named(home: Home) -> None:
    with pytest.raises(NotFound, match="agreement_id"):
        reports.agreement_record(home.ctx, 99, print)
    home.log_in(home.add_nurse())
    with pytest.raises(PermissionDenied):
        reports.agreement_record(home.ctx, 1, print)
    entry = audit.entries(home.ctx.conn, last=1)[0]
    assert (entry.action, entry.outcome) == ("print_reports", "denied")


def test_any_logged_in_role_may_read_the_fingerprint(home: Home) -> None:
    nurse = home.add_nurse()
    home.log_in(nurse)
    assert reports.home_fingerprint(home.ctx) == fingerprint_of(home.ctx.vault)
    with pytest.raises(PermissionDenied, match="nobody is logged in"):
        reports.home_fingerprint(Context(home.ctx.vault))


def test_the_settings_page_shows_the_fingerprint_to_select_and_copy(qtbot, home: Home) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    from carehome_share.gui.manager import SettingsPage
    from carehome_share.gui.tasks import Background

    background = Background(home.ctx)
    page = SettingsPage(home.ctx, background)
    qtbot.addWidget(page)
    page.reload()
    assert page.fingerprint.text() == fingerprint_of(home.ctx.vault)
    assert page.fingerprint.accessibleName() == "Signing key fingerprint"
    flags = page.fingerprint.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse
    assert flags & Qt.TextInteractionFlag.TextSelectableByKeyboard
    texts = " ".join(label.text() for label in page.findChildren(QLabel))
    assert (
        "Give this to each GP practice once; it lets them check the signatures on your reports."
        in texts
    )
    background.close()
