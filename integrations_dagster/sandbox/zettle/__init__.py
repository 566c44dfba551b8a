"""Emulator of the Zettle (PayPal Zettle / iZettle) POS APIs."""
