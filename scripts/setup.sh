#!/usr/bin/env bash
# Set up a Debian/Ubuntu machine for iact and its test suite: the apt packages it needs (only the
# missing ones), then npm ci, the build, and `npm link` so that `iact` is a command. Idempotent.
#
#   bash scripts/setup.sh           install what is missing, build, link `iact`
#   bash scripts/setup.sh --check   list what is missing and exit 1 if anything is; changes nothing
#
# Tools are looked up on PATH only (PostgreSQL also in /usr/lib/postgresql/*/bin, where Debian puts
# it), so a PATH without a tool reads as a machine without it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# command | apt package | what needs it
readonly REQUIREMENTS=(
  "initdb|postgresql|PostgreSQL sandboxes and tests"
  "pg_dump|postgresql-client|PostgreSQL backups"
  "psql|postgresql-client|PostgreSQL tests"
  "mariadbd|mariadb-server|MariaDB sandboxes and tests"
  "mariadb-install-db|mariadb-server|MariaDB sandboxes and tests"
  "mariadb|mariadb-client|MariaDB tests"
  "mariadb-dump|mariadb-client|MariaDB backups"
  "redis-server|redis-server|Redis sandboxes and tests"
  "redis-cli|redis-tools|Redis sandboxes and tests"
  "jq|jq|the bash drivers' JSON"
  "socat|socat|the namespace driver's port forward"
  "bwrap|bubblewrap|the namespace driver's sandbox"
  "setpriv|util-linux|the service users (lightweight and namespace drivers)"
  "shellcheck|shellcheck|npm test (lint of bash/)"
  "dockerd|docker.io|the docker driver and its tests"
  "docker|docker.io|the docker driver and its tests"
  "git|git|iact diff --from and its tests"
  "ps|procps|the test suite's leftover checks"
  "python3|python3|the Python settings tests"
  "ssh|openssh-client|service: tunnel (docs/tunnels.md)"
  "ssh-keygen|openssh-client|the tunnel test's keys"
  "sshd|openssh-server|the tunnel test's SSH server"
  "ip|iproute2|the tunnel and remote-engine tests' network namespaces"
  "nsenter|util-linux|the remote-engine test's second dockerd (scripts/netns-docker-engine.sh)"
  "openssl|openssl|tls: true sandboxes' certificates; the remote-engine test's"
  "zsh|zsh|the completion tests (zsh)"
  "fish|fish|the completion tests (fish)"
)
readonly NODE_MIN_MAJOR=20
readonly NODE_MIN_MINOR=5

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

have() {
  local cmd="$1"
  if command -v "${cmd}" >/dev/null 2>&1; then return 0; fi
  if [[ "${cmd}" == initdb || "${cmd}" == postgres ]]; then
    compgen -G "/usr/lib/postgresql/*/bin/${cmd}" >/dev/null
    return
  fi
  return 1
}

have_pytest() {
  have python3 && python3 -c 'import pytest' >/dev/null 2>&1
}

node_ok() {
  local version major minor
  have node || return 1
  version="$(node -p 'process.versions.node' 2>/dev/null)" || return 1
  IFS=. read -r major minor _ <<<"${version}"
  ((major > NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor >= NODE_MIN_MINOR)))
}

# Fills the global arrays missing_packages and missing_lines (one "  command (package): why" each).
find_missing() {
  local entry cmd package why
  missing_packages=()
  missing_lines=()
  for entry in "${REQUIREMENTS[@]}"; do
    IFS='|' read -r cmd package why <<<"${entry}"
    if ! have "${cmd}"; then
      missing_lines+=("  ${cmd} (apt package ${package}): ${why}")
      [[ " ${missing_packages[*]} " == *" ${package} "* ]] || missing_packages+=("${package}")
    fi
  done
  if ! have_pytest; then
    missing_lines+=("  pytest (apt package python3-pytest): the Python settings tests")
    missing_packages+=("python3-pytest")
  fi
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    printf 'error: installing packages needs root, and sudo is not installed\n  fix: run this script as root\n' >&2
    exit 1
  fi
}

main() {
  local check=false
  case "${1:-}" in
    "") ;;
    --check) check=true ;;
    -h | --help)
      usage
      return 0
      ;;
    *)
      printf 'error: unknown option %s\n  fix: run it without options, or with --check\n' "$1" >&2
      return 2
      ;;
  esac

  local node_problem=""
  node_ok || node_problem="  node ${NODE_MIN_MAJOR}.${NODE_MIN_MINOR}+ (found: $(node --version 2>/dev/null || echo none)): iact itself"
  find_missing

  if [[ "${check}" == true ]]; then
    if ((${#missing_lines[@]} == 0)) && [[ -z "${node_problem}" ]]; then
      printf 'setup: nothing is missing\n'
      return 0
    fi
    printf 'setup: missing:\n'
    [[ -z "${node_problem}" ]] || printf '%s\n' "${node_problem}"
    ((${#missing_lines[@]} == 0)) || printf '%s\n' "${missing_lines[@]}"
    printf 'run bash scripts/setup.sh to install them\n'
    return 1
  fi

  if [[ -n "${node_problem}" ]]; then
    # Debian's own nodejs package is older than iact needs: apt cannot fix this one.
    printf 'error: iact needs Node.js %s.%s or newer\n%s\n  fix: install Node.js 20 or 22 (https://nodejs.org/en/download, or the NodeSource apt repository), then run this again\n' \
      "${NODE_MIN_MAJOR}" "${NODE_MIN_MINOR}" "${node_problem}" >&2
    return 1
  fi

  if ((${#missing_packages[@]} > 0)); then
    printf 'setup: missing:\n%s\n' "$(printf '%s\n' "${missing_lines[@]}")"
    printf 'setup: apt-get install %s\n' "${missing_packages[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}"
    find_missing
    if ((${#missing_lines[@]} > 0)); then
      printf 'error: still missing after apt-get install:\n%s\n  fix: install them by hand (package names differ on this distribution?)\n' "$(printf '%s\n' "${missing_lines[@]}")" >&2
      return 1
    fi
  else
    printf 'setup: every system package is present\n'
  fi

  printf 'setup: npm ci\n'
  npm ci
  printf 'setup: npm run build\n'
  npm run build
  # Linked unless `iact` already runs this checkout (another checkout's link would run other code).
  local linked=""
  linked="$(readlink -f "$(command -v iact 2>/dev/null || true)" 2>/dev/null || true)"
  if [[ "${linked}" != "${PWD}/dist/cli.js" ]]; then
    printf 'setup: npm link (makes iact a command that runs this checkout)\n'
    if ! npm link; then
      printf 'error: npm link failed, so iact is not a command yet\n  fix: run this as root, or give npm a prefix you can write (npm config set prefix ~/.local) with its bin/ on PATH\n' >&2
      return 1
    fi
  fi
  printf 'setup: done. Next: iact apply --auto-approve, or npm test\n'
}

main "$@"
