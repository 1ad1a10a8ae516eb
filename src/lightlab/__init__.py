"""lightlab: a Lightning experiment template."""

__version__ = "0.1.0"
