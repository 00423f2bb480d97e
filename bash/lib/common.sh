#!/usr/bin/env bash
# Shared helpers for the iact driver scripts. Sourced, never executed.
# Conventions: stdout carries only the JSON result; every message goes to stderr.
# Exit codes: 0 ok, 1 failure, 2 usage error (bad name, port, service, verb).

[[ -n "${IACT_COMMON_SH:-}" ]] && return 0
IACT_COMMON_SH=1

# shellcheck source=catalog.sh
source "${BASH_SOURCE[0]%/*}/catalog.sh"
# shellcheck source=validate.sh
source "${BASH_SOURCE[0]%/*}/validate.sh"
# shellcheck source=activate.sh
source "${BASH_SOURCE[0]%/*}/activate.sh"

readonly IACT_ENV_RE='^[a-z][a-z0-9_-]{0,62}$'
readonly IACT_DOTENV_MAX_BYTES=1048576
# The closed set of structured error kinds (docs/driver-protocol.md "Errors"; src/drivers/errors.ts mirrors it).
readonly IACT_ERROR_KINDS='usage not-found port-in-use missing-binary missing-image no-engine refused-setting start-failed login-failed locked backup-failed init-failed io internal'
# Kinds whose next attempt may succeed without a change to the manifest.
# Where this machine reaches a sandbox's port: 127.0.0.1, or a remote docker engine's address (lib/docker.sh).
IACT_CONNECT_HOST=127.0.0.1
readonly IACT_RETRYABLE_KINDS='port-in-use start-failed login-failed locked no-engine io'

iact::log() {
  local level="$1"
  shift
  printf '%s: %s\n' "${level}" "$*" >&2
}

iact::info() { iact::log info "$@"; }
iact::warn() { iact::log warning "$@"; }

# iact::die CODE MESSAGE [FIX] [KIND]: the message for people, then (IACT_DRIVER_ERRORS=json) the
# structured line of docs/driver-protocol.md "Errors". IACT_ERROR_DETAIL, when set, is its detail
# (e.g. a server log's tail). With IACT_ERROR_DEFER=1 the line is kept in IACT_ERROR_LINE for an
# EXIT trap to print last (sb::update_rollback writes its own messages first).
iact::die() {
  local code="$1" message="$2" fix="${3:-}" kind="${4:-}" retryable=false detail="${IACT_ERROR_DETAIL:-}" ctl
  printf 'error: %s\n' "${message}" >&2
  [[ -n "${fix}" ]] && printf '  fix: %s\n' "${fix}" >&2
  if [[ "${IACT_DRIVER_ERRORS:-}" == json ]]; then
    if [[ -z "${kind}" ]]; then
      kind=internal
      [[ "${code}" == 2 ]] && kind=usage
    fi
    [[ " ${IACT_ERROR_KINDS} " == *" ${kind} "* ]] || kind=internal
    [[ " ${IACT_RETRYABLE_KINDS} " == *" ${kind} "* ]] && retryable=true
    # iact::json_str escapes \n \r \t only: a log tail's other control bytes become spaces.
    ctl=$'[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]'
    detail="${detail//${ctl}/ }" message="${message//${ctl}/ }" fix="${fix//${ctl}/ }"
    IACT_ERROR_LINE="iact-error: {\"summary\":$(iact::json_str "${message}"),\"detail\":$(iact::json_str "${detail}"),\"fix\":$(iact::json_str "${fix}"),\"retryable\":${retryable},\"kind\":\"${kind}\",\"exit\":${code}}"
    [[ "${IACT_ERROR_DEFER:-0}" == 1 ]] || printf '%s\n' "${IACT_ERROR_LINE}" >&2
  fi
  exit "${code}"
}

# iact::need_binary BIN HINT: BIN on PATH, else a missing-binary error with the install hint.
iact::need_binary() {
  command -v "$1" >/dev/null 2>&1 || iact::die 1 "$1 is not installed" "$2" missing-binary
}

iact::usage_error() {
  iact::die 2 "$1" "${2:-run with --help for usage}"
}

# JSON string literal for an arbitrary value (no subprocess: used in loops over many sandboxes).
iact::json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "${s}"
}

# ^[a-z][a-z0-9-]{0,62}$ as globs: bash recompiles a =~ regex on every match (~0.1 ms), which loops over
# a thousand sandboxes feel. globasciiranges (bash 5 default) keeps [a-z] ASCII.
iact::is_name() {
  [[ ${#1} -ge 1 && ${#1} -le 63 && "$1" == [a-z]* && "$1" != *[!a-z0-9-]* ]]
}

# 1024..65535, digits only.
iact::is_port() {
  [[ ${#1} -ge 4 && ${#1} -le 5 && "$1" != *[!0-9]* ]] && ((10#$1 >= 1024 && 10#$1 <= 65535))
}

iact::validate_name() {
  local name="$1"
  iact::is_name "${name}" ||
    iact::usage_error "invalid sandbox name '${name}'" "use lowercase letters, digits and '-', starting with a letter (at most 63 characters)"
}

iact::validate_environment() {
  local env_name="$1"
  [[ "${env_name}" =~ ${IACT_ENV_RE} ]] ||
    iact::usage_error "invalid environment name '${env_name}'" "use lowercase letters, digits, '-' and '_', starting with a letter"
}

iact::validate_port() {
  local port="$1"
  iact::is_port "${port}" && return 0
  iact::usage_error "invalid port '${port}'" "use a port between 1024 and 65535"
}

iact::validate_service() {
  local service="$1" known
  for known in ${IACT_SERVICES}; do
    [[ "${service}" == "${known}" ]] && return 0
  done
  iact::usage_error "unknown service '${service}'" "use one of: ${IACT_SERVICES}"
}

# Parses a dotenv file line by line into the associative array named ARRAY (first assignment
# wins). The file is never sourced: values are data, not shell.
iact::dotenv_load() {
  local file="$1" line k v size
  local -n into="$2"
  [[ -e "${file}" ]] || return 0
  # A FIFO would hang every call, a huge file slow each one: regular files of at most 1 MB, as the
  # CLI reads them (docs/manifest.md "Files"; src/manifest/dotenv.ts MAX_DOTENV_BYTES).
  [[ -f "${file}" ]] || iact::usage_error "${file} is not a regular file" "iact reads .env files only from a regular file: replace ${file} with one, or remove it"
  size="$(stat -L -c %s -- "${file}" 2>/dev/null)" || size=0
  ((size <= IACT_DOTENV_MAX_BYTES)) || iact::usage_error "${file} is ${size} bytes; the limit for .env files is ${IACT_DOTENV_MAX_BYTES}" "check that ${file} is the right file: .env files hold a few settings"
  while IFS= read -r line || [[ -n "${line}" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "${line}" || "${line}" == \#* ]] && continue
    line="${line#export }"
    [[ "${line}" == *=* ]] || continue
    k="${line%%=*}"
    k="${k%"${k##*[![:space:]]}"}"
    [[ -v "into[${k}]" ]] && continue
    v="${line#*=}"
    v="${v#"${v%%[![:space:]]*}"}"
    # A quoted value ends at its closing quote; a comment may follow it, as dotenv allows.
    if [[ "${v}" == \"*\"* ]]; then
      v="${v:1}"
      v="${v%%\"*}"
    elif [[ "${v}" == \'*\'* ]]; then
      v="${v:1}"
      v="${v%%\'*}"
    else
      v="${v%%[[:space:]]#*}"
      v="${v%"${v##*[![:space:]]}"}"
    fi
    into["${k}"]="${v}"
  done <"${file}"
}

# Value of KEY in a dotenv file (exit 1 when absent).
iact::dotenv_get() {
  local file="$1" key="$2"
  local -A values=()
  iact::dotenv_load "${file}" values
  [[ -v "values[${key}]" ]] || return 1
  printf '%s' "${values[${key}]}"
}

# Process environment wins, then .env.<environment>, then .env (docs/configuration.md).
iact::setting() {
  local key="$1" env_name="${2:-}" value
  if [[ -n "${!key:-}" ]]; then
    printf '%s' "${!key}"
    return 0
  fi
  if [[ -n "${env_name}" ]] && value="$(iact::dotenv_get ".env.${env_name}" "${key}")"; then
    printf '%s' "${value}"
    return 0
  fi
  if value="$(iact::dotenv_get .env "${key}")"; then
    printf '%s' "${value}"
    return 0
  fi
  return 1
}

# --env NAME > IACT_ENV > ENVIRONMENT > APP_ENV > DJANGO_ENV > development.
iact::detect_environment() {
  local flag="${1:-}" key value
  if [[ -n "${flag}" ]]; then
    value="${flag}"
  else
    value=development
    for key in IACT_ENV ENVIRONMENT APP_ENV DJANGO_ENV; do
      if value="$(iact::setting "${key}")" && [[ -n "${value}" ]]; then
        break
      fi
      value=development
    done
  fi
  iact::validate_environment "${value}"
  printf '%s' "${value}"
}

# REPLY = the project root: the nearest ancestor of the working directory (itself included) with an
# environments/ folder, as the CLI finds it (src/project.ts); the working directory when there is none.
iact::project_root() {
  local dir="${PWD}"
  while [[ -n "${dir}" ]]; do
    if [[ -d "${dir}/environments" ]]; then
      REPLY="${dir}"
      return 0
    fi
    dir="${dir%/*}"
  done
  [[ -d /environments ]] && REPLY=/ || REPLY="${PWD}"
  return 0
}

# Sandbox root: IACT_SANDBOX_ROOT > WASI_SANDBOX_DIR (its older name) > .iact/sandboxes.
iact::sandbox_root() {
  local root
  root="$(iact::setting IACT_SANDBOX_ROOT)" || root="$(iact::setting WASI_SANDBOX_DIR)" || root=".iact/sandboxes"
  [[ "${root}" == /* ]] || root="${PWD}/${root}"
  printf '%s' "${root}"
}

# True when something accepts TCP connections on IACT_CONNECT_HOST:PORT (bash's /dev/tcp: no fork).
iact::port_open() {
  local port="$1" fd
  if { exec {fd}<>"/dev/tcp/${IACT_CONNECT_HOST}/${port}"; } 2>/dev/null; then
    exec {fd}>&-
    return 0
  fi
  return 1
}

# A protocol-level answer on IACT_CONNECT_HOST:PORT, without forking: health, not just an open port (docker-proxy
# accepts TCP with the service down; a hung or SIGSTOPped server accepts and never answers).
iact::service_answers() {
  local port="$1" service="$2" fd
  # A TLS-only server (tls: true) logs every handshake begun and not finished, and bash cannot finish
  # one: the service's own client does (svc::<service>_tls_answers, lib/services.sh).
  if [[ "${SB_TLS:-false}" == true ]] && declare -F "svc::${service}_tls_answers" >/dev/null; then
    "svc::${service}_tls_answers" "${port}"
    return
  fi
  { exec {fd}<>"/dev/tcp/${IACT_CONNECT_HOST}/${port}"; } 2>/dev/null || return 1
  # A peer that already hung up must not kill the shell with SIGPIPE.
  trap '' PIPE
  # What makes the service answer (iact::hello_<service>); MariaDB greets first, unasked.
  if declare -F "iact::hello_${service}" >/dev/null; then "iact::hello_${service}" 1>&"${fd}" 2>/dev/null || true; fi
  local answered=1
  IFS= read -r -t 2 -n 1 -d '' -u "${fd}" _ 2>/dev/null && answered=0
  exec {fd}>&-
  trap - PIPE
  return "${answered}"
}

iact::hello_postgres() { printf '\x00\x00\x00\x08\x04\xd2\x16\x2f'; } # SSLRequest: 'N' (a 'S' would need TLS next)
iact::hello_redis() { printf 'PING\r\n'; } # -NOAUTH or +PONG

# Wait until CMD... succeeds, polling every 10 ms, at most TIMEOUT seconds.
iact::wait_for() {
  local timeout="$1"
  shift
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.01
  done
}

# Write a file atomically with mode 0600 (temp file in the same directory, then rename).
iact::write_secret_file() {
  local dest="$1" content="$2" tmp
  tmp="$(mktemp "${dest}.XXXXXX")"
  chmod 0600 "${tmp}"
  printf '%s' "${content}" >"${tmp}"
  mv -f "${tmp}" "${dest}"
}
