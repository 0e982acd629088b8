#!/usr/bin/env bash
# Runs every test: formatting, lints, unit and integration tests on SQLite and
# PostgreSQL, and end-to-end tests with the real server, CLI and terraform.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export SIGIL_TERRAFORM="${SIGIL_TERRAFORM:-$root/.tools/tf/bin/terraform}"
export SIGIL_TEST_PG="${SIGIL_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The end-to-end tests run the binaries: build them once, then every test shares them.
# The same command as scripts/server.sh and provider/install.sh: after either,
# this finds everything built.
cargo build --workspace --bins
cargo nextest run --workspace --no-fail-fast "$@"
