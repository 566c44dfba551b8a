"""The Dagster code location: everything built from ``INTEGRATIONS_CONFIG`` (the demo by default)."""

from integrations_dagster.build import load_definitions

defs = load_definitions()
