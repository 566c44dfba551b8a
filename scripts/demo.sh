#!/usr/bin/env bash
# make demo: start the sandboxes with demo data, the webhook receiver (subscribed to Zettle) and
# Dagster (webserver + daemon) with the demo integrations; sensors and schedules are on, so data flows
# without a click. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Fresh random sandbox credentials for this session, unless the user set real ones. Only the ones
# made here go to .demo.env (private, git-ignored, removed when the demo stops): a real credential
# the user set is never written down.
rand() { .venv/bin/python -c 'import secrets; print(secrets.token_hex(16))'; }
session=(DAGSTER_HOME)
generate() {  # generate NAME PREFIX: a random value for NAME unless it is set
  if [ -z "${!1:-}" ]; then
    export "$1=$2$(rand)"
    session+=("$1")
  fi
}
generate WOO_CONSUMER_KEY ck_
generate WOO_CONSUMER_SECRET cs_
generate FORTNOX_CLIENT_ID ""
generate FORTNOX_CLIENT_SECRET ""
generate FORTNOX_REFRESH_TOKEN ""
generate ZETTLE_CLIENT_ID ""
generate ZETTLE_API_KEY ""
generate BIGCOMMERCE_ACCESS_TOKEN ""
generate BIGCOMMERCE_WEBHOOK_SECRET ""
export BIGCOMMERCE_STORE_HASH="${BIGCOMMERCE_STORE_HASH:-demostore}"  # the store's id: no secret
generate SPECTER_USER_KEY ""
generate SPECTER_INTEGRATION_KEY ""
export SPECTER_SBM_ID="${SPECTER_SBM_ID:-4711}" SPECTER_API_USER_ID="${SPECTER_API_USER_ID:-1}"  # ids: no secrets
generate RACKBEAT_API_KEY ""
generate SHOPBOX_PASSWORD ""
export SHOPBOX_USERNAME="${SHOPBOX_USERNAME:-kasse@example.no}" SHOPBOX_CLIENT="${SHOPBOX_CLIENT:-1701}"  # no secrets
generate TRADERA_APP_KEY ""
generate TRADERA_USER_TOKEN ""
export TRADERA_APP_ID="${TRADERA_APP_ID:-4711}" TRADERA_USER_ID="${TRADERA_USER_ID:-90210}"  # ids: no secrets
export TRADERA_PUBLIC_KEY="${TRADERA_PUBLIC_KEY:-2f0d9c44-8b1a-4c6e-9f3d-5a7b1e2c0d18}"  # the login page's key: public
./scripts/demo_env.sh .demo.env "${session[@]}"
.venv/bin/integrations-dagster sandbox all --data-dir .sandbox --latency-ms "${SANDBOX_LATENCY_MS:-20}" &
SANDBOX_PID=$!
# The webhook receiver: the sandboxes' deliveries come in here and start runs within seconds.
.venv/bin/integrations-dagster receiver --port "${RECEIVER_PORT:-8710}" --dagster-url "http://127.0.0.1:${DAGSTER_PORT:-3000}" &
RECEIVER_PID=$!
trap 'kill $SANDBOX_PID $RECEIVER_PID 2>/dev/null || true; rm -f .demo.env' EXIT INT TERM
sleep 2
.venv/bin/integrations-dagster validate
# Zettle delivers to https only; its sandbox lets the demo's plain-http receiver on loopback through.
.venv/bin/python -c 'import requests; requests.post("http://127.0.0.1:8703/__sandbox__/zettle/allow-http", json={"allow": True}, timeout=10).raise_for_status()'
.venv/bin/integrations-dagster subscribe pos --receiver-url "http://127.0.0.1:${RECEIVER_PORT:-8710}"
# kasse (Rackbeat ⇄ Shopbox, seed 003): the initial sync Shopbox → Rackbeat, products and then each till's
# stock, once (a demo started again finds it done: "it is done once"); then Rackbeat's webhooks.
for flow in products_to_erp stock_to_erp; do
  .venv/bin/integrations-dagster initial-sync kasse "$flow" --format json >/dev/null && echo "kasse: initial sync of $flow done" || true
done
.venv/bin/integrations-dagster subscribe kasse --receiver-url "http://127.0.0.1:${RECEIVER_PORT:-8710}"
echo "Second terminal: \`source .demo.env\` in $PWD gives it this demo's sandbox credentials and DAGSTER_HOME."
echo "Dagster UI: http://127.0.0.1:${DAGSTER_PORT:-3000}  (Ctrl-C stops the demo)"
.venv/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p "${DAGSTER_PORT:-3000}"
