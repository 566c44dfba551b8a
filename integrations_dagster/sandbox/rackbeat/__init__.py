"""Rackbeat (Danish inventory/ERP) sandbox: a local HTTP emulator of its REST API (see :mod:`.app`)."""
