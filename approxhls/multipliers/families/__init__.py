"""Multiplier families: each module defines parameterised generators (subclasses of Design)."""
