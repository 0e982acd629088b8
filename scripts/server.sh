#!/usr/bin/env bash
# Builds and starts a Sigil server on http://127.0.0.1:8080 with its data in
# ./sigil-data (SQLite). Extra arguments go to `sigil server` (see `--help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --server-only
cargo build --release -p sigil-server --bin sigil
cat >&2 <<'MSG'
Starting Sigil. On first start it prints an owner token once: keep it.
Then, in another shell:
  export SIGIL_ENDPOINT=http://127.0.0.1:8080 SIGIL_TOKEN=<the owner token>
  ./target/release/sigil whoami                    # the CLI
  terraform: provider "sigil" {} reads the same two variables
MSG
exec "${CARGO_TARGET_DIR:-$root/target}/release/sigil" server "$@"
