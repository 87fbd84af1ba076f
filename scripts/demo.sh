#!/usr/bin/env bash
# Runs the demo: a synthetic society of a few thousand members written in the real
# formats, two fiscal years replayed month by month into ./collabo-demo/ (SQLite),
# ending with the effect table of the first year and its PDF report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo run --bin collabo -- demo "$@"
