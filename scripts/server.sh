#!/usr/bin/env bash
# Builds and starts a Sigil server on http://127.0.0.1:8080 with its data in
# ./sigil-data (SQLite), writing the first owner token to
# ./sigil-data/bootstrap-token.txt. Extra arguments go to `sigil server` (see `--help`).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh --server-only
# One build for the README's commands: scripts/test.sh and provider/install.sh
# run this very command (the dev profile, every binary of the workspace, so the
# provider is built with the server and each dependency is built once, with
# the features all of them need). Whichever runs first builds; the others
# find everything fresh. For production: cargo build --release -p sigil-server.
cargo build --workspace --bins
# The bootstrap owner token goes to a file (mode 0600) in the data dir, which
# the README reads with `sigil login --with-token < sigil-data/bootstrap-token.txt`.
# A --bootstrap-token-file of yours wins over this default.
export SIGIL_BOOTSTRAP_TOKEN_FILE="${SIGIL_BOOTSTRAP_TOKEN_FILE:-sigil-data/bootstrap-token.txt}"
cat >&2 <<MSG
Starting Sigil. On first start it writes the owner token to $SIGIL_BOOTSTRAP_TOKEN_FILE.
Then, in another shell, in $root:
  export SIGIL_ENDPOINT=http://127.0.0.1:8080
  export SIGIL_TOKEN=\$(cat $SIGIL_BOOTSTRAP_TOKEN_FILE)
  ./target/debug/sigil whoami                      # the CLI
  terraform: provider "sigil" {} reads the same two variables
MSG
exec "${CARGO_TARGET_DIR:-$root/target}/debug/sigil" server "$@"
