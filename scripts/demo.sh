#!/usr/bin/env bash
# One command from a fresh clone: install into .venv and run the exporter in demo mode
# against its built-in Focus API simulator. Then open http://127.0.0.1:10019/metrics
# Extra arguments go to the exporter, e.g. scripts/demo.sh --listen-address 127.0.0.1:9999
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q -c constraints.txt -e .
exec .venv/bin/toggl-focus-exporter --demo --listen-address "${DEMO_LISTEN_ADDRESS:-127.0.0.1:10019}" "$@"
