"""Test helpers that ship with the package: the tiny offline checkpoint factory."""
