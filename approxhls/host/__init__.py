"""PYNQ host runtime (built in a later issue). Imports numpy (and pynq) only: it runs on the board."""
