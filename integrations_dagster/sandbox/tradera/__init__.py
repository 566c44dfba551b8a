"""The Tradera (Swedish marketplace) REST API v4 emulator; the evidence is digested in ``docs/research/tradera.md``."""
