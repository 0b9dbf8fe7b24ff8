"""What a GP access report carries for its reader to check, with no access to the home's files.

The signed PDF embeds two files:

- `carehome-share-evidence.json` (this module's format, below), and
- `report.fhir.json`: the FHIR R4 Bundle of exactly the rows printed.

The evidence is a JSON object:

    format      "carehome-share report evidence 1"
    document    "gp_access_report"
    home        {name, home_id, certificate (PEM of the home's signing certificate),
                 fingerprint (16 groups of 4 hex digits, as Settings shows it)}
    practice    {ods_code, name}
    period      {first_day, last_day}  (YYYY-MM-DD, UK calendar days, both included)
    tree_head   the signed tree head of the whole audit log when the report was made
                (store/signing.py `SignedTreeHead.to_json`)
    entries     [{seq, entry}]: every audit entry about this practice made in the period,
                oldest first. `entry` is the canonical entry text (store/audit.py
                `canonical_bytes`, as UTF-8 text); its details carry the practice's running
                number {"practice": {"ods_code": ..., "n": ...}}.
    subtrees    [[start, end, hash]]: MTH(D[start:end]) (hex) of every leaf range on the RFC 9162
                inclusion path (PATH(m, D[n]), 2.1.3.1) of a listed entry or restore in the tree
                of `tree_head`, each once. Entry seq's inclusion proof is the hashes of the
                ranges on the path of leaf seq - 1, leaf upwards (store/merkle.py
                `inclusion_ranges`): the proofs of nearby entries share all but their lowest
                hashes, so a month's proofs are stored in a tenth of the room.
    numbers     {first, last}: the practice's running numbers the entries cover (null, null
                when there are none)
    totals      {sessions, refusals, contacts}: as printed in the report's headings
    previous    null, or {tree_head, proof, numbers}: the head printed on the previous report
                sent to this practice, the consistency proof from it to `tree_head`, and the
                running numbers that report covered
    restores    [{seq, entry}]: "restore" entries since the previous report (or the
                period's start), their inclusion proofs in `subtrees` too

A one-practice FHIR export carries the same evidence on `Bundle.meta.extension` (a Bundle may not
carry extensions of its own in R4), with a detached CMS signature in `Bundle.signature`.

Everything here is plain data: the home writes it (services/evidence.py) and `check-report`
reads it (carehome_share/check.py).
"""

EVIDENCE_FORMAT = "carehome-share report evidence 2"
EVIDENCE_FILE = "carehome-share-evidence.json"
BUNDLE_FILE = "report.fhir.json"
