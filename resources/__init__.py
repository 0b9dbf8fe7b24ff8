"""Icons and other files the app ships; installed as the package carehome_share.resources."""
