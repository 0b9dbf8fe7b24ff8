"""Which role may do what. The services look every action up here; nothing else decides."""

from carehome_share.domain.model import Role

EVERYONE = frozenset(Role)
MANAGER = frozenset({Role.MANAGER})
NURSE = frozenset({Role.NURSE})
# those trained in data protection who decide one-off requests for residents' information
DECIDERS = frozenset({Role.MANAGER, Role.IG_LEAD})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "add_staff": MANAGER,
    "update_staff": MANAGER,
    "record_nmc_check": MANAGER,
    "deactivate_staff": MANAGER,
    "reset_password": MANAGER,
    "clear_lockout": MANAGER,
    "rotate_key": MANAGER,
    "list_staff": MANAGER,
    "change_own_password": EVERYONE,
    "change_settings": MANAGER,
    "view_settings": EVERYONE,  # the idle-lock time applies to every screen
    "view_practices": EVERYONE,  # practices and agreements hold no personal data
    "add_practice": MANAGER,
    "update_practice": MANAGER,
    "delete_practice": MANAGER,
    "deactivate_practice": MANAGER,
    "activate_practice": MANAGER,
    "add_agreement": MANAGER,
    "end_agreement": MANAGER,
    "add_resident": MANAGER,
    "update_resident": MANAGER,
    "admit_resident": MANAGER,
    "discharge_resident": MANAGER,
    "find_residents": EVERYONE,  # non-clinical details: name, room, residency
    "view_consent": frozenset({Role.MANAGER, Role.NURSE}),
    "record_consent": MANAGER,
    # Opening a session is decided by the access rules (which name a wrong role as a reason).
    "record_sections_viewed": NURSE,
    "close_access_session": NURSE,
    "list_own_sessions": NURSE,
    "close_stale_sessions": EVERYONE,  # housekeeping any login triggers; it only closes
    "log_gp_contact": frozenset({Role.NURSE, Role.MANAGER}),
    "view_audit": MANAGER,
    "view_exceptions": MANAGER,
    # Printed documents that disclose records (GP access report, access history, consent
    # register, staff list, agreement, DPIA pack) or unlock them (recovery sheet): audited when
    # printed.
    "print_reports": MANAGER,
    "print_consent_form": frozenset({Role.MANAGER, Role.NURSE}),  # for a decision to be signed
    # What became of an audited document once made: printed, not printed, failed, saved.
    "record_print_outcome": DECIDERS,
    # The FHIR export of consent and access audit: a disclosure, audited like a printed report.
    "export_fhir": MANAGER,
    # An encrypted copy of the whole database; restoring one needs no login (see the CLI).
    "back_up": MANAGER,
    # One-off requests for residents' information (domain/disclosure.py): anyone who receives
    # one logs it; those trained in data protection check it, decide and keep the register.
    "log_disclosure_request": EVERYONE,
    "update_disclosure_request": DECIDERS,
    "decide_disclosure": DECIDERS,
    "view_disclosures": DECIDERS,
    "print_disclosure_register": DECIDERS,
}

# Who finds former residents too (name, room, NHS number) when looking residents up: those who
# may read a resident's consent history anyway. Carers, volunteers and administrators see the
# people living here now, and nothing of those who have left.
FINDS_FORMER_RESIDENTS = PERMISSIONS["view_consent"]
