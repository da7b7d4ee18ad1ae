#!/usr/bin/env bash
# Runs every suite: type check, lint, build, then unit, integration and end-to-end tests
# in one node:test run, which ends with a line `N passed, N failed, N skipped`.
# Pass file globs to run fewer: `bash test/run-all.sh test/unit/*.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== type check"; npx --no-install tsc --noEmit -p .
echo "== lint";       npx --no-install eslint src test
echo "== build";      node scripts/build.mjs >/dev/null
if [ -f test/e2e/setup.sh ]; then echo "== e2e setup"; bash test/e2e/setup.sh; fi

if [ $# -gt 0 ]; then files=("$@"); else
  shopt -s nullglob
  files=(test/unit/*.test.ts test/integration/*.test.ts test/e2e/*.test.ts)
fi
echo "== tests (${#files[@]} files)"
exec node --import tsx --test --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./test/summary-reporter.mjs --test-reporter-destination=stdout \
  "${files[@]}"
