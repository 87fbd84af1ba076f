#!/usr/bin/env bash
# Runs every test: installs what a fresh machine needs (fonts, poppler, xmllint,
# chromium, PostgreSQL up at 127.0.0.1:5432) and then the whole workspace's tests,
# including the store contract on SQLite and PostgreSQL and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export COLLABO_TEST_PG="${COLLABO_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
cargo test --workspace "$@"
