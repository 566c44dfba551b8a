#!/usr/bin/env bash
# make demo: start both sandboxes with demo data and Dagster (webserver + daemon) with the demo
# integration; sensors and schedules are on, so data flows without a click. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Fresh random sandbox credentials for this session, unless the user set real ones: nothing written.
rand() { .venv/bin/python -c 'import secrets; print(secrets.token_hex(16))'; }
export WOO_CONSUMER_KEY="${WOO_CONSUMER_KEY:-ck_$(rand)}"
export WOO_CONSUMER_SECRET="${WOO_CONSUMER_SECRET:-cs_$(rand)}"
export FORTNOX_CLIENT_ID="${FORTNOX_CLIENT_ID:-$(rand)}"
export FORTNOX_CLIENT_SECRET="${FORTNOX_CLIENT_SECRET:-$(rand)}"
export FORTNOX_REFRESH_TOKEN="${FORTNOX_REFRESH_TOKEN:-$(rand)}"
.venv/bin/integrations-dagster sandbox all --data-dir .sandbox --latency-ms "${SANDBOX_LATENCY_MS:-20}" &
SANDBOX_PID=$!
trap 'kill $SANDBOX_PID 2>/dev/null || true' EXIT INT TERM
sleep 2
.venv/bin/integrations-dagster validate
echo "Dagster UI: http://127.0.0.1:3000  (Ctrl-C stops the demo)"
.venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}"
