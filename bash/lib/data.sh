#!/usr/bin/env bash
# What a sandbox holds beyond an empty server (docs/data.md): init files run through the service's
# client, PostgreSQL extensions made by the internal admin connection, an administrator user.
# Sourced by services.sh; reads the SB_* globals of sandbox.sh (SB_ADMIN, SB_EXTENSIONS, SB_INIT_*).

[[ -n "${IACT_DATA_SH:-}" ]] && return 0
IACT_DATA_SH=1

SB_EXTENSIONS=()
SB_INIT_FILES=()
SB_INIT_HASHES=()

# The schema's rules (schemas/manifest.schema.json: extensions, init) for what a spec carries.
readonly DATA_EXTENSION_RE='^[a-z_][a-z0-9_-]{0,62}$'
readonly DATA_INIT_PATH_RE=$'^[^][:space:]\'"\\\\[:cntrl:][]{1,255}$'
readonly DATA_INIT_HASH_RE='^sha256:[0-9a-f]{16}$'

# SB_EXTENSIONS and SB_INIT_FILES/SB_INIT_HASHES from the spec's fields (sb::ingest_spec); exit 2 on
# anything the schema refuses, so nothing reaches a command line that iact would not write.
data::ingest() {
  local words=() i
  SB_EXTENSIONS=() SB_INIT_FILES=() SB_INIT_HASHES=()
  [[ "${SB_ADMIN:-}" == 1 ]] || SB_ADMIN=''
  [[ "${SB_AUTH:-}" == 0 ]] || SB_AUTH=''
  read -r -a SB_EXTENSIONS <<<"${SB_EXTENSIONS_TEXT:-}"
  for i in "${SB_EXTENSIONS[@]}"; do
    [[ "${i}" =~ ${DATA_EXTENSION_RE} ]] || iact::usage_error "invalid extension name '${i}'" "an extension name matches ${DATA_EXTENSION_RE}"
  done
  # "PATH sha256:HEX" entries, joined by blanks: paths hold none (the schema's rule).
  read -r -a words <<<"${SB_INIT_TEXT:-}"
  ((${#words[@]} % 2 == 0)) || iact::usage_error "init entries must be 'PATH sha256:HEX' pairs"
  for ((i = 0; i < ${#words[@]}; i += 2)); do
    [[ "${words[i]}" =~ ${DATA_INIT_PATH_RE} && "${words[i]}" != -* ]] || iact::usage_error "invalid init file path '${words[i]}'"
    [[ "${words[i + 1]}" =~ ${DATA_INIT_HASH_RE} ]] || iact::usage_error "invalid init file hash '${words[i + 1]}' for ${words[i]}"
    SB_INIT_FILES+=("${words[i]}") SB_INIT_HASHES+=("${words[i + 1]}")
  done
  return 0
}

# After create's credentials: extensions first (init files may use them), then the init files.
data::after_create() {
  ((${#SB_EXTENSIONS[@]} == 0)) || svc::call extensions
  ((${#SB_INIT_FILES[@]} == 0)) || data::run_init
  return 0
}

# --- extensions ---------------------------------------------------------------------------------

# CREATE EXTENSION for each of SB_EXTENSIONS in the sandbox's database, as the superuser over the
# socket: the sandbox user need not be one. One that is removed from the spec is left in place.
svc::postgres_extensions() {
  local ext sql='' out
  for ext in "${SB_EXTENSIONS[@]}"; do sql+="CREATE EXTENSION IF NOT EXISTS \"${ext}\";"$'\n'; done
  # From run/, as every admin client (docs/driver-protocol.md "Sockets").
  if ! out="$(svc::socket_client "${SVC_BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h /proc/self/cwd -p "${SB_PORT}" -U postgres -d "${SB_DB}" <<<"${sql}" 2>&1)"; then
    out="${out//$'\n'/ }"
    iact::die 1 "PostgreSQL could not create an extension of sandbox '${SB_NAME}': ${out}" \
      "install the package that provides it for PostgreSQL $(svc::_major "${SVC_BIN}") (iact doctor lists the extensions this machine has), or remove it from extensions:" missing-binary
  fi
}

# --- admin ----------------------------------------------------------------------------------------

# The SQL that makes the sandbox user an administrator or not (docs/data.md "Admin"); the
# credentials of services.sh run it. DATA_REVOKE=1 (the grant step) also takes back what admin gave.
data::mysql_admin_sql() {
  local who="'${SB_USER}'@'localhost', '${SB_USER}'@'127.0.0.1'"
  if [[ "${SB_ADMIN}" == 1 ]]; then
    REPLY="GRANT ALL PRIVILEGES ON *.* TO ${who} WITH GRANT OPTION;"
  elif [[ "${DATA_REVOKE:-0}" == 1 ]]; then
    REPLY="REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${who};"
  else
    REPLY=''
  fi
}

# --- init -------------------------------------------------------------------------------------------

# Runs SB_INIT_FILES in order, each through the service's client as the sandbox user over
# 127.0.0.1:PORT (the objects it makes are the user's), the password in the client's environment,
# never in argv. Paths are relative to the project root, where every driver works.
data::run_init() {
  local file
  for file in "${SB_INIT_FILES[@]}"; do
    [[ -f "${file}" && -r "${file}" ]] || iact::die 1 "init file ${file} of sandbox '${SB_NAME}' does not exist or cannot be read" "restore it, or remove it from init:" init-failed
    case "${file}" in
      *.sh) data::init_shell "${file}" ;;
      *)
        declare -F "svc::${SB_SERVICE}_init_file" >/dev/null || iact::die 2 "a ${SB_SERVICE} sandbox cannot run init file ${file}" "see docs/data.md for the kinds each service runs"
        "svc::${SB_SERVICE}_init_file" "${file}"
        ;;
    esac
    iact::info "init: ${file} ran in sandbox ${SB_NAME}"
  done
}

# FILE failed; OUT is what the client said, RE finds the line the server reported (BASH_REMATCH[1])
# and its message ([2]).
data::init_failed() {
  local file="$1" out="$2" re="$3" line='' message
  message="${out//$'\n'/ }"
  if [[ "${out}" =~ ${re} ]]; then
    line="${BASH_REMATCH[1]}" message="${BASH_REMATCH[2]}"
  fi
  # shellcheck disable=SC2034 # read by iact::die
  IACT_ERROR_DETAIL="${out}"
  iact::die 1 "init file ${file} of sandbox '${SB_NAME}' failed${line:+ at line ${line}}: ${message}" \
    "fix ${file}${line:+ (line ${line})} and apply again: init files run again when their content changes" init-failed
}

# .sh: bash with the sandbox's connection variables exported (the set of its bin/activate and iact
# run). The password is the spec's, on a pipe: secrets/password is written only once init has run
# (docs/driver-protocol.md "Create"), and an update's init must see the new password, not the old.
data::init_shell() {
  local file="$1" out
  iact::activate_text "${SB_NAME}" "${SB_ENV}" "${SB_SERVICE}" "${SB_DIR}" "${SB_PORT}" "${SB_DB:-}" "${SB_USER:-}" /dev/fd/3
  # A fresh bash: activate is written for interactive shells, not for this script's set -u. Fd 4
  # holds the activate text, fd 3 the password; both closed before the init file runs.
  # shellcheck disable=SC2016 # $1 is the inner shell's
  if ! out="$(bash -c 'source /dev/fd/4 && exec 3<&- 4<&- && exec bash "$1"' iact-init "${file}" \
    3< <(printf '%s' "${SB_PASSWORD}") 4< <(printf '%s' "${REPLY}") 2>&1 >/dev/null)"; then
    data::init_failed "${file}" "${out}" "${file//./\\.}: line ([0-9]+): (.*)"
  fi
}

svc::postgres_init_file() {
  local file="$1" out mode=prefer
  # A tls: true sandbox: verified TLS, as every client of it (docs/operators.md "TLS sandboxes").
  [[ "${SB_TLS:-false}" == true ]] && mode=verify-full
  svc::tls_ca
  # ON_ERROR_STOP: the first failing statement ends the file; psql names the file and its line.
  if ! out="$(PGSSLMODE="${mode}" PGSSLROOTCERT="${REPLY}" PGPASSWORD="${SB_PASSWORD}" PGCONNECT_TIMEOUT=5 "${SVC_BIN}/psql" -X -q -w -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "${SB_PORT}" -U "${SB_USER}" -d "${SB_DB}" -f "${file}" 2>&1 >/dev/null)"; then
    data::init_failed "${file}" "${out}" 'psql:[^:]*:([0-9]+): (.*)'
  fi
}

svc::mysql_init_file() {
  local file="$1" out
  # The client stops at the first error and reports "ERROR n (state) at line N: message".
  svc::mysql_tls_args
  if ! out="$(MYSQL_PWD="${SB_PASSWORD}" mariadb --no-defaults "${SVC_MYSQL_TLS[@]}" --protocol=TCP -h 127.0.0.1 -P "${SB_PORT}" -u "${SB_USER}" -D "${SB_DB}" \
    --connect-timeout=5 --default-character-set=utf8mb4 --batch <"${file}" 2>&1 >/dev/null)"; then
    data::init_failed "${file}" "${out}" 'ERROR [0-9]+ \([0-9A-Z]+\) at line ([0-9]+): (.*)'
  fi
}

# .redis: one command a line (blank lines and # comments skipped), as redis-cli reads them. One
# client runs the whole file; an ECHO after each line marks whose reply is whose, so the first
# error names its line (the lines after it have run too: redis has no stop-on-error).
svc::redis_init_file() {
  local file="$1" n=0 text='' line reply seen=0 out
  local -a lines=() numbers=()
  while IFS= read -r line || [[ -n "${line}" ]]; do
    n=$((n + 1))
    [[ "${line}" =~ ^[[:space:]]*(#|$) ]] && continue
    numbers+=("${n}")
    text+="${line}"$'\n'"ECHO __iact_init_line_${n}"$'\n'
  done <"${file}"
  [[ -n "${text}" ]] || return 0
  svc::redis_tcp_args
  if [[ "${SB_AUTH:-}" == 0 ]]; then
    out="$(redis-cli --no-raw "${SVC_REDIS_TCP[@]}" <<<"${text}" 2>&1)" || true
  else
    out="$(REDISCLI_AUTH="${SB_PASSWORD}" redis-cli --no-auth-warning --no-raw "${SVC_REDIS_TCP[@]}" <<<"${text}" 2>&1)" || true
  fi
  mapfile -t lines <<<"${out}"
  # The reply before the k-th marker is the k-th command's.
  for reply in "${lines[@]}"; do
    if [[ "${reply}" =~ ^\"__iact_init_line_[0-9]+\"$ ]]; then
      seen=$((seen + 1))
    elif [[ "${reply}" == "(error) "* || "${reply}" == "Invalid argument"* || "${reply}" == "Could not connect"* ]]; then
      data::init_failed "${file}" "line ${numbers[seen]:-${n}}: ${reply#(error) }" '^line ([0-9]+): (.*)'
    fi
  done
  # Every command's marker came back: the server saw the whole file.
  ((seen == ${#numbers[@]})) || data::init_failed "${file}" "${out}" '^$'
}
