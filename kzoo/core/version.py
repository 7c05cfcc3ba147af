"""The kzoo version (recorded in every entry's card)."""

__version__ = "0.1.0"
