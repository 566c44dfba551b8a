"""The Dagster code location: everything built from ``INTEGRATIONS_CONFIG`` (the demo by default)."""

import warnings

from dagster import BetaWarning

from integrations_dagster.build import load_definitions

# Dagster's run-status sensors pass their own ``owners`` to a beta parameter; every process that
# loads this location (each run's, each daemon tick's) would print the same warning about it.
warnings.filterwarnings("ignore", message=r"Parameter `owners` of initializer `SensorDefinition.__init__`",
                        category=BetaWarning)

defs = load_definitions()
