"""ArcX: a live decision aid for extraction shooters.

The version is defined here and only here; the packaging, the installer and the
CLI read it from this module.
"""

__version__ = "0.1.0"
