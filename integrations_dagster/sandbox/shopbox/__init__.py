"""The Shopbox (Danish POS) emulator; the evidence is digested in ``docs/research/shopbox.md``."""
