#!/usr/bin/env bash
# Sets up a fresh Debian machine with Node 20 to build rvisor, and with --test
# to run its whole test suite. Safe to run again: every step is skipped when
# its result is already there.
#
#   bash scripts/setup.sh          pnpm 12.4.2, workspace install, build
#   bash scripts/setup.sh --test   + Debian packages the tests use (RISC-V gcc and
#                                  picolibc, QEMU, Mosquitto, Chromium)
set -euo pipefail

PNPM_VERSION=12.4.2
APT_PACKAGES=(gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-user qemu-system-misc mosquitto chromium openssl make)

say() { printf 'setup: %s\n' "$*"; }
run() { say "\$ $*"; "$@"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

with_test=0
for arg in "$@"; do
  case "$arg" in
    --test) with_test=1 ;;
    -h | --help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) printf "setup: unknown argument '%s' (try --help)\n" "$arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say "workspace $(pwd)"

# Root runs commands itself; anyone else goes through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then run "$@"; else run sudo "$@"; fi
}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

if [ "$with_test" -eq 1 ]; then
  missing=()
  for bin in riscv64-unknown-elf-gcc qemu-riscv32 qemu-system-riscv32 mosquitto chromium openssl make; do
    have "$bin" || missing+=("$bin")
  done
  [ -e /usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs ] || missing+=(picolibc)
  if [ "${#missing[@]}" -eq 0 ]; then
    say "test tools present (RISC-V gcc + picolibc, qemu-riscv32, qemu-system-riscv32, mosquitto, chromium, openssl, make): skipping apt"
  else
    say "missing: ${missing[*]}: installing Debian packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${APT_PACKAGES[@]}"
  fi
fi

have node || die "node is not installed (rvisor needs Node.js 20 or newer)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: rvisor needs Node.js 20 or newer"
say "node $(node --version)"

if have pnpm && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  say "pnpm $PNPM_VERSION present"
else
  say "installing pnpm $PNPM_VERSION (found: $(pnpm --version 2>/dev/null || echo none))"
  if [ -w "$(npm prefix -g)/lib" ] || [ "$(id -u)" -eq 0 ]; then
    run npm install -g "pnpm@$PNPM_VERSION"
  else
    run sudo npm install -g "pnpm@$PNPM_VERSION"
  fi
  hash -r
fi

# CI=true: never prompt (no TTY, no stdin), and refuse to change the lockfile.
export CI="${CI:-true}"
run pnpm install --frozen-lockfile
run pnpm build
say "done"
