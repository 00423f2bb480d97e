#!/usr/bin/env bash
# Cold start of `iact validate --all` on the bundled manifests against `node -e 0` (target <= 2.5x).
# Usage: bench/cold-start.sh [RUNS]        run `npm run build` first
# With hyperfine installed it also prints hyperfine's comparison.
set -euo pipefail

main() {
  local runs="${1:-30}" root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ ! "${runs}" =~ ^[1-9][0-9]*$ ]]; then
    printf 'error: RUNS must be a positive integer, got %s\n' "${runs}" >&2
    exit 2
  fi
  if [[ ! -f "${root}/dist/cli.js" ]]; then
    printf 'error: dist/cli.js is missing\n  fix: npm run build\n' >&2
    exit 1
  fi
  cd "${root}"
  mkdir -p bench/results
  if command -v hyperfine >/dev/null 2>&1; then
    hyperfine --warmup 3 --runs "${runs}" -N --export-json bench/results/hyperfine.json \
      'node -e 0' 'node dist/cli.js validate --all' >&2
  fi
  node bench/cold-start.mjs "${runs}"
}

main "$@"
