"""pm: operations tool for field property managers."""

__version__ = "0.1.0"
