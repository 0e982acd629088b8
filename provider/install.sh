#!/usr/bin/env bash
# Builds terraform-provider-sigil and installs it where a plain `terraform init`
# finds it: Terraform's implicit local mirror, ~/.terraform.d/plugins, in the
# unpacked layout registry.terraform.io/sigil/sigil/VERSION/OS_ARCH/.
#
#   provider/install.sh                 # release build into ~/.terraform.d/plugins
#   provider/install.sh --dir DIR       # into DIR instead (then: terraform init -plugin-dir=DIR)
#   provider/install.sh --debug         # use the debug build (faster to build)
#   provider/install.sh --dev           # no copy: print a dev_overrides CLI config
#                                       # pointing at target/debug (skip `terraform init`)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${HOME}/.terraform.d/plugins"
profile=release
dev=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --debug) profile=debug; shift ;;
    --dev) dev=1; profile=debug; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$root"
if [ "$profile" = release ]; then
  cargo build --release -p terraform-provider-sigil
else
  cargo build -p terraform-provider-sigil
fi
target="${CARGO_TARGET_DIR:-$root/target}"
bin="$target/$profile/terraform-provider-sigil"

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
  echo "run: terraform init -plugin-dir=$dir"
else
  echo "a plain 'terraform init' now finds it (source = \"sigil/sigil\")"
fi
