#!/usr/bin/env bash
# Installs everything the test suites need on a fresh Debian machine (run as root):
# Debian packages (OpenSSH server for the bastion tests, Chromium for the e2e tests,
# build tools for native modules, ripgrep and Kerberos headers for code-server), then
# the npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in openssh-server openssh-client chromium libkrb5-dev pkg-config ripgrep build-essential python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mkdir -p /run/sshd
echo "== npm ci"
npm_config_yes=true npm ci --no-audit --no-fund
