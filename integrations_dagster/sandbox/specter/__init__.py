"""Emulator of Specter Business Management's web-shop API (``getInfo.asp`` / ``putInfo.asp``)."""
