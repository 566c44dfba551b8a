"""Fortnox API v3 emulator (see :mod:`.app`)."""
