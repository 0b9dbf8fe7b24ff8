"""The database schema as numbered migrations. Never edit a released one: add the next."""

MIGRATIONS: tuple[str, ...] = (
    # 1: the first release
    """
    CREATE TABLE home (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE staff (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        full_name TEXT NOT NULL,
        roles TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        nmc_pin TEXT,
        nmc_checked_on TEXT,
        nmc_expires_on TEXT,
        confidentiality_signed_on TEXT,
        ig_training_on TEXT,
        password_hash TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        created_at TEXT NOT NULL,
        left_at TEXT
    );
    CREATE TABLE practice (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        ods_code TEXT NOT NULL UNIQUE,
        phone TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE agreement (
        id INTEGER PRIMARY KEY,
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        starts_on TEXT NOT NULL,
        ends_on TEXT,
        review_on TEXT,
        purposes TEXT NOT NULL,
        sections TEXT NOT NULL,
        home_signatory TEXT NOT NULL,
        practice_signatory TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX agreement_practice ON agreement(practice_id);
    CREATE TABLE resident (
        id INTEGER PRIMARY KEY,
        nhs_number TEXT NOT NULL UNIQUE,
        given_name TEXT NOT NULL,
        family_name TEXT NOT NULL,
        date_of_birth TEXT NOT NULL,
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        room TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE INDEX resident_family_name ON resident(family_name COLLATE NOCASE);
    CREATE TABLE stay (
        id INTEGER PRIMARY KEY,
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        kind TEXT NOT NULL,
        admitted_at TEXT NOT NULL,
        discharged_at TEXT
    );
    CREATE INDEX stay_resident ON stay(resident_id, admitted_at);
    CREATE TABLE consent_decision (
        id INTEGER PRIMARY KEY,
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        kind TEXT NOT NULL,
        decided_by TEXT NOT NULL,
        decided_on TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        representative_name TEXT NOT NULL DEFAULT '',
        representative_relationship TEXT NOT NULL DEFAULT '',
        authority_reference TEXT NOT NULL DEFAULT '',
        lacks_capacity INTEGER NOT NULL DEFAULT 0,
        capacity_assessed_on TEXT,
        capacity_assessment TEXT NOT NULL DEFAULT '',
        people_consulted TEXT NOT NULL DEFAULT '',
        witness TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT '',
        review_on TEXT,
        expires_on TEXT
    );
    CREATE INDEX consent_resident ON consent_decision(resident_id, id);
    CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent_decision
        BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END;
    CREATE TRIGGER consent_no_delete BEFORE DELETE ON consent_decision
        BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END;
    CREATE TABLE access_session (
        id INTEGER PRIMARY KEY,
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        staff_id INTEGER NOT NULL REFERENCES staff(id),
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        nmc_pin TEXT NOT NULL,
        purpose TEXT NOT NULL,
        justification TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        closed_at TEXT,
        close_kind TEXT,
        consent_id INTEGER REFERENCES consent_decision(id),
        agreement_id INTEGER REFERENCES agreement(id),
        workstation TEXT NOT NULL
    );
    CREATE INDEX session_practice ON access_session(practice_id, opened_at);
    CREATE INDEX session_resident ON access_session(resident_id, opened_at);
    CREATE INDEX session_staff ON access_session(staff_id, opened_at);
    CREATE INDEX session_open ON access_session(opened_at) WHERE closed_at IS NULL;
    CREATE TABLE session_section (
        session_id INTEGER NOT NULL REFERENCES access_session(id),
        section TEXT NOT NULL,
        viewed_at TEXT NOT NULL,
        PRIMARY KEY (session_id, section)
    );
    CREATE TABLE access_refusal (
        id INTEGER PRIMARY KEY,
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        staff_id INTEGER REFERENCES staff(id),
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        role TEXT NOT NULL,
        purpose TEXT NOT NULL,
        justification TEXT NOT NULL,
        at TEXT NOT NULL,
        reasons TEXT NOT NULL,
        consent_id INTEGER REFERENCES consent_decision(id),
        workstation TEXT NOT NULL
    );
    CREATE INDEX refusal_practice ON access_refusal(practice_id, at);
    CREATE INDEX refusal_resident ON access_refusal(resident_id, at);
    CREATE TABLE gp_contact (
        id INTEGER PRIMARY KEY,
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        staff_id INTEGER NOT NULL REFERENCES staff(id),
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        at TEXT NOT NULL,
        spoke_to TEXT NOT NULL,
        reason TEXT NOT NULL,
        outcome TEXT NOT NULL,
        refusal_id INTEGER REFERENCES access_refusal(id)
    );
    CREATE INDEX contact_practice ON gp_contact(practice_id, at);
    CREATE INDEX contact_resident ON gp_contact(resident_id, at);
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor_username TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        actor_role TEXT NOT NULL,
        actor_nmc_pin TEXT NOT NULL,
        workstation TEXT NOT NULL,
        action TEXT NOT NULL,
        resident_id INTEGER,
        outcome TEXT NOT NULL,
        reasons TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_resident ON audit_log(resident_id, seq) WHERE resident_id IS NOT NULL;
    CREATE INDEX audit_actor ON audit_log(actor_username, at);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 2: a resident's history lists their other audit events (not sessions or calls) by action;
    # with the action in the index, the tens of thousands of session entries of a busy resident
    # are skipped in the index instead of each being read from the table
    """
    DROP INDEX audit_resident;
    CREATE INDEX audit_resident ON audit_log(resident_id, seq, action) WHERE resident_id IS NOT NULL;
    """,
    # 3: key slots (Trust 1): the home's identity and each member of staff's slot, kept inside
    # the file and copied to the key file beside it. The identity row itself is written by
    # the migration step in vault.py (a new key pair and device secret cannot be made in SQL).
    """
    CREATE TABLE vault_identity (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        home_id TEXT NOT NULL,
        public_key BLOB NOT NULL,
        private_key BLOB NOT NULL,
        device_secret BLOB NOT NULL,
        key_transition INTEGER NOT NULL DEFAULT 0,
        purpose TEXT NOT NULL DEFAULT 'home'
    );
    CREATE TABLE key_slot (username TEXT PRIMARY KEY COLLATE NOCASE, slot TEXT NOT NULL);
    """,
    # 4: a verifiable log (Trust 2): the home's signing key for tree heads and documents (made
    # by the migration step in vault.py, see store/signing.py), and an index of each GP
    # practice's running numbers on the audit entries about it (store/practice_log.py; the
    # numbers themselves are in the hashed entries).
    """
    ALTER TABLE vault_identity ADD COLUMN signing_key BLOB;
    CREATE TABLE practice_entry (
        practice_id INTEGER NOT NULL REFERENCES practice(id),
        n INTEGER NOT NULL,
        seq INTEGER NOT NULL UNIQUE,  -- the audit entry (no foreign key: the log is checked by verify)
        PRIMARY KEY (practice_id, n)
    );
    -- the root of each whole chunk of 2**level audit entries' leaves (store/merkle.py), kept
    -- so proofs need not read them again; never trusted by verify, which recomputes the tree.
    -- Only a cache: one already there (a schema-3 file imitated by dropping the rest) is kept
    CREATE TABLE merkle_chunk (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    );
    """,
    # 5: the rules at their edges. A consent decision records when it was made, when that is
    # known (entered as it was made), so the decision made last stands however late another was
    # entered. A consent's expiry date becomes its last day in force, as an agreement's end date
    # and an NMC expiry date are. vault.py's fix-up gives the decisions entered on the day they
    # were made their time, and moves each stored expiry date back a day. An access session
    # ended by a change to the rules (close kind "ended") keeps why, and one that stands on a
    # best-interests decision its own nurse made says so (the same person decides and looks).
    """
    ALTER TABLE consent_decision ADD COLUMN decided_at TEXT;
    ALTER TABLE access_session ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_session ADD COLUMN decided_by_self INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: one-off requests for residents' information from outside the data sharing agreement
    # (domain/disclosure.py): the request as received, the residents it is about, and each
    # decision on it (asking for more first, then disclosing, in part or in full, or refusing)
    """
    CREATE TABLE disclosure_request (
        id INTEGER PRIMARY KEY,
        received_on TEXT NOT NULL,
        requester TEXT NOT NULL,
        organisation TEXT NOT NULL,
        person TEXT NOT NULL,
        reference TEXT NOT NULL DEFAULT '',
        identity_check TEXT NOT NULL DEFAULT '',  -- how identity was verified; '' = not yet
        in_writing INTEGER NOT NULL DEFAULT 0,
        document_name TEXT NOT NULL DEFAULT '',
        document BLOB,  -- the written request, kept inside the encrypted file
        asked TEXT NOT NULL,
        why TEXT NOT NULL,
        basis TEXT NOT NULL,
        due_on TEXT,
        logged_by INTEGER NOT NULL REFERENCES staff(id),
        logged_at TEXT NOT NULL
    );
    CREATE TABLE disclosure_resident (
        request_id INTEGER NOT NULL REFERENCES disclosure_request(id),
        resident_id INTEGER NOT NULL REFERENCES resident(id),
        PRIMARY KEY (request_id, resident_id)
    );
    CREATE INDEX disclosure_about ON disclosure_resident(resident_id);
    CREATE TABLE disclosure_decision (
        id INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL REFERENCES disclosure_request(id),
        outcome TEXT NOT NULL,
        basis TEXT NOT NULL,
        reasons TEXT NOT NULL,
        emergency TEXT NOT NULL DEFAULT '',
        disclosed TEXT NOT NULL DEFAULT '',
        sent_how TEXT NOT NULL DEFAULT '',
        sent_on TEXT,
        decided_by INTEGER NOT NULL REFERENCES staff(id),
        decided_at TEXT NOT NULL
    );
    """,
    # 7: a GP practice marked inactive is no longer offered for new residents or a change of
    # practice; the residents registered with it keep it, and its reports still work
    """
    ALTER TABLE practice ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    """,
    # 8: what the paper consent form records, stored too (domain/model.py ConsentDecision): the
    # Mental Capacity Act's two-stage test (an impairment of mind or brain, NULL when not
    # recorded; which of understand, retain, weigh, communicate the resident cannot do, comma
    # separated), a finding of capacity, the steps taken to help the resident decide and who
    # assessed; an LPA's registration date, the day the LPA or court order was seen and by whom;
    # the resident's known wishes. Earlier decisions keep these empty: the history stays
    # append-only, so no row is rewritten. A refusal keeps the code of each reason beside its
    # words (domain/model.py ReasonCode, a JSON list in the same order), which vault.py's
    # fix-up derives from the words of the refusals stored before.
    """
    ALTER TABLE consent_decision ADD COLUMN impairment INTEGER;
    ALTER TABLE consent_decision ADD COLUMN impairment_detail TEXT NOT NULL DEFAULT '';
    ALTER TABLE consent_decision ADD COLUMN unable_to TEXT NOT NULL DEFAULT '';
    ALTER TABLE consent_decision ADD COLUMN has_capacity INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE consent_decision ADD COLUMN support_steps TEXT NOT NULL DEFAULT '';
    ALTER TABLE consent_decision ADD COLUMN capacity_assessed_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE consent_decision ADD COLUMN lpa_registered_on TEXT;
    ALTER TABLE consent_decision ADD COLUMN authority_seen_on TEXT;
    ALTER TABLE consent_decision ADD COLUMN authority_seen_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE consent_decision ADD COLUMN known_wishes TEXT NOT NULL DEFAULT '';
    ALTER TABLE access_refusal ADD COLUMN reason_codes TEXT NOT NULL DEFAULT '[]';
    """,
    # 9: each entry's RFC 9162 leaf hash, written with it (store/audit.py insert_chained), so the
    # proofs a report carries read 32 bytes an entry rather than hash every entry of its month
    # again; NULL on entries written before, which are hashed as they are read. `verify` checks
    # each against its entry; a wrong one fails the proofs built on it. Entries by time: a
    # report or export reads its period's entries, not every entry about the practice since
    # the home began (the first read of a month's report on a year's log: 0.33 -> 0.01 s); and
    # the few restores, which each report names, without reading every entry since the last;
    # and the documents printed or exported, whose signed tree heads `verify` holds the log to.
    """
    ALTER TABLE audit_log ADD COLUMN leaf BLOB;
    CREATE INDEX audit_at ON audit_log(at);
    CREATE INDEX audit_restores ON audit_log(at) WHERE action = 'restore';
    CREATE INDEX audit_sent ON audit_log(seq) WHERE action IN ('print_reports', 'export_fhir');
    """,
    # 10: an id once used is never given again. Audit entries name rows by id (practice_id in
    # their details, "practice:3" in their bindings), but SQLite gives a deleted newest row's
    # id to the next row, so the entries about a practice deleted as added by mistake (issue
    # 14) would seem to be about the next one added. The record tables that lose rows are
    # `practice` and `key_slot` (a leaver's slot goes; it gets an integer id, its rowid until
    # now); the others keep every row. AUTOINCREMENT is SQLite's spelling of what a PostgreSQL
    # identity column does anyway, so the app's SQL does not change; adding it takes a rebuild
    # (foreign keys off meanwhile: vault._migrate) that keeps every id, so what refers to a
    # practice still does. Neither table has an index or trigger beyond its constraints;
    # binding.after_migration binds their rows again. Ids deleted before the upgrade are read
    # from the deleting entries' bindings (null): each sequence starts at the highest of them,
    # and the copy raises it to the highest id kept.
    """
    CREATE TABLE practice_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        ods_code TEXT NOT NULL UNIQUE,
        phone TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE key_slot_new (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        slot TEXT NOT NULL
    );
    WITH deleted(tbl, id) AS (
        SELECT substr(r.key, 1, instr(r.key, ':') - 1),
               CAST(substr(r.key, instr(r.key, ':') + 1) AS INTEGER)
        FROM audit_log a, json_each(a.details, '$.rows') r
        WHERE a.action IN ('delete_practice', 'deactivate_staff') AND r.type = 'null'
    )
    INSERT INTO sqlite_sequence(name, seq)
        SELECT tbl || '_new', max(id) FROM deleted WHERE tbl IN ('practice', 'key_slot')
        GROUP BY tbl;
    INSERT INTO practice_new(id, name, ods_code, phone, active)
        SELECT id, name, ods_code, phone, active FROM practice;
    DROP TABLE practice;
    ALTER TABLE practice_new RENAME TO practice;
    INSERT INTO key_slot_new(id, username, slot) SELECT rowid, username, slot FROM key_slot;
    DROP TABLE key_slot;
    ALTER TABLE key_slot_new RENAME TO key_slot;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)

# The consent history's guard against edits, as migration 1 made it: the one fix-up that must
# rewrite consent rows (vault.py) lifts it and puts it back, in the migration's transaction.
CONSENT_NO_UPDATE = """CREATE TRIGGER consent_no_update BEFORE UPDATE ON consent_decision
        BEGIN SELECT RAISE(ABORT, 'the consent history is append-only'); END"""
