"""ccm: run a practice's Chronic Care Management program from plain files."""

__version__ = "0.1.0"
