#!/usr/bin/env bash
# Builds terraform-provider-sigil and installs it where a plain `terraform init`
# finds it; see usage() below, or run it with --help.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: provider/install.sh [--dir DIR] [--release | --dev] [--binary FILE]

Builds terraform-provider-sigil and installs it where a plain `terraform init`
finds it: Terraform's implicit local mirror, ~/.terraform.d/plugins, in the
unpacked layout registry.terraform.io/sigil/sigil/VERSION/OS_ARCH/.
Runs from any directory.

Options:
  --dir DIR      install into DIR instead, relative to the current directory
                 (then: terraform init -plugin-dir=DIR)
  --release      use a release build (cargo build --release), not the
                 shared debug build
  --debug        the default: the build scripts/server.sh and
                 scripts/test.sh make (cargo build --workspace --bins), so
                 after either of them nothing is rebuilt
  --dev          no copy: print a dev_overrides CLI config pointing at
                 target/debug (skip `terraform init`); the same build
  --binary FILE  install this already-built provider binary; no build
  -h, --help     show this text

Examples:
  provider/install.sh                       # into ~/.terraform.d/plugins
  provider/install.sh --dir ./plugins && terraform init -plugin-dir=./plugins
USAGE
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${HOME}/.terraform.d/plugins"
profile=debug
dev=0
binary=
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || { echo "--dir needs a directory" >&2; exit 2; }; dir="$2"; shift 2 ;;
    --debug) profile=debug; shift ;;
    --release) profile=release; shift ;;
    --dev) dev=1; profile=debug; shift ;;
    --binary) [ $# -ge 2 ] || { echo "--binary needs a file" >&2; exit 2; }; binary="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
# --dir and --binary are the caller's paths: resolve them before leaving
# the caller's directory for the repository's.
shown_dir="$dir"
case "$dir" in /*) ;; *) dir="$PWD/${dir#./}" ;; esac
if [ -n "$binary" ]; then
  case "$binary" in /*) ;; *) binary="$PWD/$binary" ;; esac
fi

cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/$profile/terraform-provider-sigil"
if [ -n "$binary" ]; then
  bin="$binary"
elif [ "$profile" = release ]; then
  cargo build --release -p terraform-provider-sigil
else
  # Exactly scripts/server.sh's and scripts/test.sh's build: one cargo
  # invocation for every binary, so the dependencies the provider shares with
  # the server are built once, with one feature set, and found fresh here.
  cargo build --workspace --bins
fi

if [ "$dev" = 1 ]; then
  rc="$root/.tools/sigil-dev.tfrc"
  mkdir -p "$(dirname "$rc")"
  cat >"$rc" <<RC
provider_installation {
  dev_overrides {
    "sigil/sigil" = "$(dirname "$bin")"
  }
  direct {}
}
RC
  echo "wrote $rc; use it with:"
  echo "  export TF_CLI_CONFIG_FILE=$rc"
  echo "then run terraform plan/apply directly (no terraform init needed for sigil)."
  exit 0
fi

version="$("$bin" --version | awk '{print $2}')"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac
dest="$dir/registry.terraform.io/sigil/sigil/$version/${os}_${arch}"
mkdir -p "$dest"
install -m 0755 "$bin" "$dest/terraform-provider-sigil_v$version"
echo "installed sigil/sigil $version into $dest"
if [ "$dir" != "${HOME}/.terraform.d/plugins" ]; then
  echo "run: terraform init -plugin-dir=$shown_dir"
else
  echo "a plain 'terraform init' now finds it (source = \"sigil/sigil\")"
fi
