#!/usr/bin/env bash
# Installs Debian's chromium for the dashboard's browser test (test/dashboard/browser.test.ts drives it with
# playwright-core; no browser is downloaded by Playwright).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo) and an apt source.
set -euo pipefail

die() { echo "install-chromium.sh: $*" >&2; exit 1; }

if [[ -x /usr/bin/chromium ]]; then
  echo "install-chromium.sh: chromium already installed ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: install Chromium by hand so that /usr/bin/chromium exists"
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh when apt does not know the package.
if ! apt-cache show chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq || die "apt-get update failed"
fi

echo "install-chromium.sh: installing chromium"
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core || die "apt-get install failed"

[[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium is still missing after the install"
echo "install-chromium.sh: ready ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
