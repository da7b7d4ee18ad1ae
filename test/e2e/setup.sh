#!/usr/bin/env bash
# Installs what the end-to-end suites need, once: code-server (VS Code's workbench and extension
# host, from the npm registry) into test/e2e/.cache/, and checks for Debian's Chromium.
# Idempotent: a finished install leaves a marker and later runs return at once.
#
# Why the manual steps: code-server's install scripts download ripgrep and prebuilt binaries from
# GitHub, which a machine with only the npm registry and Debian's packages cannot reach. So it is
# installed with --ignore-scripts, Debian's ripgrep stands in for the download, and the native
# modules are rebuilt against the local Node headers (~/.npmrc nodedir=/usr).
#
# Env: CODE_SERVER_VERSION (default 4.100.3, the newest for Node 20), CHROMIUM (default
# /usr/bin/chromium), OPEN_KITCHEN_E2E_CACHE (default test/e2e/.cache).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

version=${CODE_SERVER_VERSION:-4.100.3}
cache=${OPEN_KITCHEN_E2E_CACHE:-$here/.cache}
target=$cache/code-server-$version
marker=$target/.installed
chromium=${CHROMIUM:-/usr/bin/chromium}

say() { echo "e2e setup: $*"; }

# --- system packages (Debian) ---
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
if [ ! -f "$marker" ]; then
  # Only needed to build code-server's native modules.
  command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || missing+=(build-essential)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  [ -f /usr/include/gssapi/gssapi.h ] || [ -f /usr/include/krb5.h ] || missing+=(libkrb5-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  else
    echo "e2e setup: missing Debian packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
[ -x "$chromium" ] || { echo "e2e setup: no Chromium at $chromium (set CHROMIUM=/path/to/chromium)" >&2; exit 1; }

if [ -f "$marker" ] && [ -f "$target/node_modules/code-server/out/node/entry.js" ]; then
  say "code-server $version ready (cached in ${target#"$here"/})"
  exit 0
fi

mkdir -p "$cache"
# Several test runs may start at once; one installs, the others wait for it.
exec 9>"$cache/.setup.lock"
flock 9
if [ -f "$marker" ]; then say "code-server $version ready (installed by a parallel run)"; exit 0; fi

started=$(date +%s)
say "installing code-server $version into ${target#"$here"/} (about a minute, once)"
rm -rf "$target"
mkdir -p "$target"
cd "$target"
echo '{"private":true}' > package.json
# ~/.npmrc may say yes=false; npm must not stop to ask.
export npm_config_yes=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# node-gyp would download Node's headers from nodejs.org; use the ones installed with Node.
node_prefix=$(dirname "$(dirname "$(command -v node)")")
if [ -z "${npm_config_nodedir:-}" ] && ! npm config get nodedir 2>/dev/null | grep -q / \
   && [ -f "$node_prefix/include/node/node_version.h" ]; then
  export npm_config_nodedir=$node_prefix
fi
npm install --no-save --ignore-scripts --loglevel=error "code-server@$version" >/dev/null

cd node_modules/code-server/lib/vscode
npm install --ignore-scripts --omit=dev --loglevel=error >/dev/null
# Before the rebuild, so @vscode/ripgrep's postinstall finds a binary and skips its GitHub download.
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild --loglevel=error >/dev/null 2>&1 || npm rebuild --loglevel=error   # kerberos, node-pty, spdlog, native-watchdog…
# The server looks for its modules under node_modules.asar (the packaged layout).
ln -sfn node_modules node_modules.asar
cd extensions
npm install --ignore-scripts --omit=dev --loglevel=error >/dev/null
npm rebuild --loglevel=error >/dev/null 2>&1 || npm rebuild --loglevel=error
cd "$target"
npm rebuild argon2 --loglevel=error >/dev/null 2>&1 || npm rebuild argon2 --loglevel=error

# A quick check that the server starts: --version exits at once.
node node_modules/code-server/out/node/entry.js --version >/dev/null
touch "$marker"
say "code-server $version installed in $(( $(date +%s) - started )) s"
