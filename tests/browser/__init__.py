"""The browser test of the demo's Dagster UI (a package, so its conftest does not shadow tests/conftest)."""
