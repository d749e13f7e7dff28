#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine to build, run and test ShellWeGo: system packages, npm
# packages, build. Idempotent: run it again after pulling.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: build tools for the SQLite native module, PostgreSQL (the tests start their own
# throwaway clusters), and the runtimes' tools.
APT_PACKAGES=(ca-certificates python3 make g++ postgresql iproute2 openssl docker-registry umoci skopeo busybox-static runc pebble caddy nginx-light wrk curl wabt chromium qemu-system-x86 qemu-utils cpio e2fsprogs lz4)

need_node() {
  echo "setup: ShellWeGo needs Node.js >= 20.19 and npm; found ${1:-none}." >&2
  echo "setup: install Node.js 20 (for example from your distribution's backports or nodejs.org) and rerun." >&2
  exit 1
}
command -v node >/dev/null 2>&1 || need_node
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || need_node "$(node --version)"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: installing npm packages"
npm ci --no-audit --no-fund --loglevel=error
echo "setup: building"
npm run build --silent
echo "setup: done. Start the platform with: npx shellwego up"
