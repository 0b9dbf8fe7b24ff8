"""Signing a finished PDF: PAdES baseline B-B (ETSI EN 319 142-1) with pyHanko, under the home's
certificate, with the machine-readable files a reader can check (attachments) inside it.

Any PDF reader then shows whether the document was altered after it was signed; the GP
practice checks the certificate's fingerprint against the one the home gave it once.
"""

import io
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from carehome_share.services.reports import Printed

# zlib releases the GIL: attachments are compressed on other cores while the PDF is laid out
_DEFLATE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deflate")
# The room kept in the PDF for the signature (its CMS), given so that pyHanko need not make a
# dummy signature first to measure one: the home's is about 1.2 KB (one P-256 certificate
# named with at most 64 characters, PAdES B-B attributes). pyHanko refuses one that does not fit.
SIGNATURE_ROOM = 8192


@dataclass(frozen=True)
class Signer:
    """Who signs: the home's key and its certificate; what goes inside: name -> bytes, or the
    bytes in pieces. Each attachment is compressed (FlateDecode) in the background from the
    moment the signer is made: a month's report carries 10 MiB of JSON, 0.14 s of zlib that
    need not wait."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    attachments: dict[str, bytes | Iterable[bytes]] = field(default_factory=dict)
    _deflated: dict[str, Future[bytes]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        deflated = {
            name: _DEFLATE.submit(_deflate, data) for name, data in self.attachments.items()
        }
        object.__setattr__(self, "_deflated", deflated)


def _deflate(data: bytes | Iterable[bytes]) -> bytes:
    """An attachment compressed, given whole or in pieces. Pieces are made as they are asked
    for, here: a year's Bundle never exists whole (fhir.encoded_in_pieces)."""
    if isinstance(data, bytes):
        return zlib.compress(data)
    compressor = zlib.compressobj()
    parts = [compressor.compress(piece) for piece in data]
    return b"".join([*parts, compressor.flush()])


def signer_of(
    printed: Printed, attachments: dict[str, bytes | Iterable[bytes]] | None = None
) -> Signer:
    """The home's key and certificate as the service read them for this document."""
    return Signer(printed.key.private_key, printed.key.certificate, attachments or {})


def sign(pdf: bytes, signer: Signer, reason: str) -> bytes:
    """The PDF with its attachments embedded and one PAdES signature covering all of it."""
    key_der = signer.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate = asn1_x509.Certificate.load(
        signer.certificate.public_bytes(serialization.Encoding.DER)
    )
    pdf_signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for name, deflated in signer._deflated.items():
        embed.embed_file(
            writer,
            embed.FileSpec(
                file_spec_string=name,
                embedded_data=embed.EmbeddedFileObject(
                    writer,
                    dict_data=generic.DictionaryObject({_FILTER: _FLATE}),
                    encoded_data=deflated.result(),
                    mime_type=_mime_type(name),
                ),
            ),
        )
    out = io.BytesIO()
    signers.sign_pdf(
        writer,
        signers.PdfSignatureMetadata(
            field_name="HomeSignature",
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
        ),
        signer=pdf_signer,
        output=out,
        bytes_reserved=SIGNATURE_ROOM,
    )
    return out.getvalue()


_FILTER, _FLATE = generic.pdf_name("/Filter"), generic.pdf_name("/FlateDecode")


def _mime_type(name: str) -> str:
    return "application/fhir+json" if name.endswith(".fhir.json") else "application/json"
