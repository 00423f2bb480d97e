#!/usr/bin/env bash
# Lint every bash file; shellcheck is required (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v shellcheck >/dev/null 2>&1; then
  printf 'error: shellcheck is not installed\n  fix: apt-get install -y shellcheck\n' >&2
  exit 1
fi
mapfile -t files < <(find bash scripts bench .ci -type f \( -name '*.sh' -o -path '*/bin/*' -o -name run \) | sort)
shellcheck -x -P SCRIPTDIR "${files[@]}"
