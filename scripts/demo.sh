#!/usr/bin/env bash
# Runs the demo: a synthetic society of a few thousand members written in the real
# formats, one fiscal year replayed month by month into ./collabo-demo/ (SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --bin collabo -- demo "$@"
