"""carehome-share: safe, recorded access for care-home nurses to residents' GP records."""

__version__ = "0.1.0"
