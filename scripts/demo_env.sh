#!/usr/bin/env bash
# demo_env.sh FILE NAME...: write `export NAME=value` for each NAME (from this environment) to FILE,
# readable by its owner only, so a second terminal can `source` the demo's session: its sandbox
# credentials and DAGSTER_HOME. The file is created under umask 077 (never readable by others, not
# even for a moment) and its values are never printed.
set -euo pipefail
file="$1"; shift
for name in "$@"; do
  if [ -z "${!name+set}" ]; then echo "demo_env.sh: $name is not set" >&2; exit 2; fi
done
rm -f "$file"  # an existing file keeps its mode when truncated: start from none
(
  umask 077
  {
    echo "# make demo's session (written $(date -u +%Y-%m-%dT%H:%M:%SZ)); source it: . $file"
    for name in "$@"; do
      printf 'export %s=%q\n' "$name" "${!name}"
    done
  } > "$file"
)
