#!/usr/bin/env bash
# The verbs every process-based driver shares (docs/driver-protocol.md): argument parsing, spec files,
# sandbox directories, status JSON, activate scripts. A driver script sources this file and its own
# lib, sets SB_DRIVER and SB_TCP, defines drv::* (launch, stop, pid, healthy, prepare, cleanup) and
# calls sb::main.
# Globals SB_* describe the sandbox being worked on; they are set once per invocation.

[[ -n "${IACT_SANDBOX_SH:-}" ]] && return 0
IACT_SANDBOX_SH=1
# Sandbox-name globs (status): matching a thousand names in C, not one [[ ]] each.
shopt -s extglob
# shellcheck source=common.sh
source "${BASH_SOURCE[0]%/*}/common.sh"
# shellcheck source=storage.sh
source "${BASH_SOURCE[0]%/*}/storage.sh"

# The driver scripts' directory, absolute: the verbs change directory (sb::enter_project_root), then
# run a script again. iact passes an absolute path: no subshell then.
SCRIPT_DIR="${BASH_SOURCE[0]%/lib/*}"
[[ "${SCRIPT_DIR}" == /* ]] || SCRIPT_DIR="$(cd "${SCRIPT_DIR}" && pwd)"
SB_SCRIPT="${0##*/}"


SB_SETTING_KEYS=()
SB_SETTING_VALUES=()
# An update's changed reloadable settings and the settings that left the spec (sb::update_check_steps).
SB_RELOAD_KEYS=()
SB_DROPPED_KEYS=()

# --- arguments -----------------------------------------------------------------------------

# Splits "$@" into ARG_POS and the flags every verb accepts.
sb::parse_args() {
  ARG_POS=()
  ARG_ENV=''
  ARG_SPEC=''
  ARG_OUT=''
  ARG_SPECS=''
  ARG_RESTART=0
  ARG_STEPS=''
  ARG_STEPS_GIVEN=0
  ARG_YES=0
  ARG_JSON=0
  ARG_PORT_IS_OURS=0
  ARG_FROM=''
  while (($# > 0)); do
    case "$1" in
      --env)
        (($# >= 2)) || iact::usage_error "--env needs a value"
        ARG_ENV="$2"
        shift 2
        ;;
      --env=*) ARG_ENV="${1#--env=}" && shift ;;
      --spec)
        (($# >= 2)) || iact::usage_error "--spec needs a file"
        ARG_SPEC="$2"
        shift 2
        ;;
      --spec=*) ARG_SPEC="${1#--spec=}" && shift ;;
      --out)
        (($# >= 2)) || iact::usage_error "--out needs a file"
        ARG_OUT="$2"
        shift 2
        ;;
      --out=*) ARG_OUT="${1#--out=}" && shift ;;
      --specs)
        (($# >= 2)) || iact::usage_error "--specs needs a file"
        ARG_SPECS="$2"
        shift 2
        ;;
      --steps)
        (($# >= 2)) || iact::usage_error "--steps needs a list, e.g. --steps set-password,reload"
        ARG_STEPS="$2" ARG_STEPS_GIVEN=1
        shift 2
        ;;
      --steps=*) ARG_STEPS="${1#--steps=}" ARG_STEPS_GIVEN=1 && shift ;;
      --from)
        (($# >= 2)) || iact::usage_error "--from needs SANDBOX[@SNAPSHOT]"
        ARG_FROM="$2"
        shift 2
        ;;
      --from=*) ARG_FROM="${1#--from=}" && shift ;;
      --restart) ARG_RESTART=1 && shift ;;
      --yes | -y) ARG_YES=1 && shift ;;
      --json) ARG_JSON=1 && shift ;;
      --port-is-ours) ARG_PORT_IS_OURS=1 && shift ;;
      --) shift && ARG_POS+=("$@") && break ;;
      -*) iact::usage_error "unknown option '$1'" ;;
      *) ARG_POS+=("$1") && shift ;;
    esac
  done
}

# Works from the project root, as the CLI does, whatever subdirectory the script was called from:
# .env files and a relative sandbox root are the project's. File arguments stay the caller's.
sb::enter_project_root() {
  local caller="${PWD}"
  iact::project_root
  [[ "${REPLY}" == "${caller}" ]] && return 0
  [[ -z "${ARG_SPEC}" || "${ARG_SPEC}" == - || "${ARG_SPEC}" == /* ]] || ARG_SPEC="${caller}/${ARG_SPEC}"
  [[ -z "${ARG_SPECS}" || "${ARG_SPECS}" == - || "${ARG_SPECS}" == /* ]] || ARG_SPECS="${caller}/${ARG_SPECS}"
  [[ -z "${ARG_OUT}" || "${ARG_OUT}" == /* ]] || ARG_OUT="${caller}/${ARG_OUT}"
  cd "${REPLY}" || iact::die 1 "cannot enter the project root ${REPLY}" "check its permissions" io
}

sb::need_args() {
  local verb="$1" min="$2" max="$3" usage="$4"
  if ((${#ARG_POS[@]} < min || ${#ARG_POS[@]} > max)); then
    iact::usage_error "${verb}: expected ${usage}" "usage: ${SB_SCRIPT} ${verb} ${usage}"
  fi
}

declare -A SB_DOTENV_BASE=() SB_DOTENV_ENV=()

# REPLY = KEY from the process environment, else .env.<environment>, else .env (docs/configuration.md).
sb::setting() {
  local key="$1"
  if [[ -n "${!key:-}" ]]; then
    REPLY="${!key}"
  elif [[ -n "${SB_DOTENV_ENV[${key}]:-}" ]]; then
    REPLY="${SB_DOTENV_ENV[${key}]}"
  elif [[ -n "${SB_DOTENV_BASE[${key}]:-}" ]]; then
    REPLY="${SB_DOTENV_BASE[${key}]}"
  else
    REPLY=''
    return 1
  fi
}

# Environment, sandbox root and (when NAME is given) the sandbox directory. Same rules as
# iact::detect_environment / iact::sandbox_root, without a subshell per lookup.
sb::locate() {
  local name="${1:-}" key
  iact::dotenv_load .env SB_DOTENV_BASE
  SB_ENV=development
  if [[ -n "${ARG_ENV}" ]]; then
    SB_ENV="${ARG_ENV}"
  else
    for key in IACT_ENV ENVIRONMENT APP_ENV DJANGO_ENV; do
      if sb::setting "${key}"; then
        SB_ENV="${REPLY}"
        break
      fi
    done
  fi
  iact::validate_environment "${SB_ENV}"
  iact::dotenv_load ".env.${SB_ENV}" SB_DOTENV_ENV
  if sb::setting IACT_SANDBOX_ROOT || sb::setting WASI_SANDBOX_DIR; then
    SB_ROOT="${REPLY}"
  else
    SB_ROOT=.iact/sandboxes
  fi
  [[ "${SB_ROOT}" == /* ]] || SB_ROOT="${PWD}/${SB_ROOT}"
  # Every config format quotes blanks and quotes in paths; a line break or other control character
  # would end a config line early (injection), so such a root is refused before anything is written.
  [[ "${SB_ROOT}" != *[[:cntrl:]]* ]] || iact::usage_error "the sandbox root ${SB_ROOT@Q} contains a control character (a line break?)" \
    "move the project, or set IACT_SANDBOX_ROOT to a path without one"
  SB_ENV_DIR="${SB_ROOT}/${SB_ENV}"
  if [[ -n "${name}" ]]; then
    iact::validate_name "${name}"
    SB_NAME="${name}"
    SB_DIR="${SB_ENV_DIR}/${name}"
  fi
}

# --- spec ------------------------------------------------------------------------------------

sb::default_ident() {
  printf '%s' "${1//-/_}"
}

# 24 characters from getrandom(2) through bash's SRANDOM: no subprocess.
sb::random_password() {
  local alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789' pw='' i
  for ((i = 0; i < 24; i++)); do
    pw+="${alphabet:SRANDOM % 62:1}"
  done
  printf '%s' "${pw}"
}

# Validates the spec in SB_* with the drivers' one rule set (iact::validate_spec); exit 2 on bad input.
sb::validate_fields() {
  # shellcheck disable=SC2034 # read through a nameref by iact::validate_spec
  local -A spec_fields=([name]="${SB_NAME}" [environment]="${SB_ENV}" [service]="${SB_SERVICE}" [port]="${SB_PORT}"
    [database]="${SB_DB}" [user]="${SB_USER}" [version]="${SB_VERSION}" [memory]="${SB_MEMORY}" [image]="${SB_IMAGE:-}" [password]="${SB_PASSWORD}")
  iact::validate_spec spec_fields SB_SETTING_KEYS SB_SETTING_VALUES
  if [[ "${SB_TLS:-false}" == true && " ${IACT_CAT_TLS_DRIVERS[${SB_SERVICE}]:-} " != *" ${SB_DRIVER} "* ]]; then
    iact::usage_error "tls: true is not served for ${SB_SERVICE} by the ${SB_DRIVER} driver" "remove tls:, or use a driver of: ${IACT_CAT_TLS_DRIVERS[${SB_SERVICE}]:-none}"
  fi
}

# One jq call turns a spec (file, or the JSON built for `create NAME SERVICE PORT` without --spec) into: the fields,
# the password, the settings (one per line), and the observed spec for sandbox.json, whose
# identity fields come first and settings last (lib/status.awk relies on that order).
# shellcheck disable=SC2016 # jq program: $vars are jq's
readonly SB_SPEC_JQ_DEFS='def ident: tostring | gsub("-"; "_");'
# shellcheck disable=SC2016 # jq program: $vars are jq's
readonly SB_SPEC_JQ='
  if type != "object" then error("not an object") else . end
  | (.settings // {}) as $hashed
  | if ($hashed | type) != "object" or ((.secret_settings // {}) | type) != "object" then error("settings") else . end
  # The config gets the values of the secret settings; sandbox.json keeps only their hashes (in .settings).
  | ($hashed + (.secret_settings // {})) as $s
  | (.service == "postgres" or .service == "mysql") as $sql
  | ((if $sql then {database: (.database // (.name | ident)), user: (.user // (.name | ident))}
      elif .service == "tunnel" then ({database, user} | with_entries(select(.value != null))) else {} end)) as $db
  | ((if $driver == "namespace" and (.memory // "") == "" and $wmem != "" then {memory: $wmem} else {} end)) as $mem
  | ({name, environment: $env, driver: $driver, service, port, spec_hash: (.spec_hash // "")}
      + (del(.password, .secret_settings, .settings, .database, .user, .name, .environment, .driver, .service, .port, .spec_hash)
         | with_entries(select(.value != null)))
      + $db + $mem + {settings: $hashed}) as $obs
  | ([.name, (.environment // ""), (.driver // ""), .service, .port, ($obs.version // ""), ($obs.database // ""),
      ($obs.user // ""), ($obs.memory // ""), ($obs.image // ""), $obs.spec_hash, ($obs.password_hash // ""),
      (if .admin == true then "1" else "" end), ((.extensions // []) | map(tostring) | join(" ")),
      ((.init // []) | map(tostring) | join(" ")), (if .auth == false then "0" else "" end), ($obs.tls == true)]
     | map(tostring | gsub("[\u0000-\u001f]"; " ")) | join("\u001f")) + "\u0000"
    + ((.password // "") | tostring) + "\u0000"
    + ($s | to_entries | map((.key | gsub("[\u0000-\u001f]"; " ")) + "\u001f"
        + (.value | if type == "object" or type == "array" then tojson else tostring end | gsub("\n"; "\\n")))
        | join("\n")) + "\u0000"
    + ($obs | tojson) + "\u0000"'

# Reads spec JSON (a file, or - for stdin) into SB_* and SB_OBSERVED_JSON; exit 2 when it is not a spec.
sb::ingest_spec() {
  local file="$1" fields='' settings='' line wmem='' spec_env spec_driver
  [[ "${file}" == - || (-f "${file}" && -r "${file}") ]] || iact::usage_error "spec file '${file}' is not readable"
  # Without jq every spec would read as malformed; say what is missing instead.
  iact::need_binary jq "apt-get install -y jq"
  [[ "${SB_DRIVER}" == namespace ]] && sb::setting WASI_MEMORY_LIMIT && wmem="${REPLY}"
  SB_PASSWORD='' SB_OBSERVED_JSON=''
  {
    IFS= read -r -d '' fields || true
    IFS= read -r -d '' SB_PASSWORD || true
    IFS= read -r -d '' settings || true
    IFS= read -r -d '' SB_OBSERVED_JSON || true
  } < <(jq -j --arg env "${SB_ENV}" --arg driver "${SB_DRIVER}" --arg wmem "${wmem}" "${SB_SPEC_JQ_DEFS} ${SB_SPEC_JQ}" "${file}" 2>/dev/null)
  [[ -n "${SB_OBSERVED_JSON}" ]] || iact::usage_error "spec '${file}' is not a JSON object with name, service, port and settings" "pass the JSON of a DriverSpec"
  IFS=$'\x1f' read -r SPEC_NAME spec_env spec_driver SPEC_SERVICE SPEC_PORT SB_VERSION SB_DB SB_USER SB_MEMORY SB_IMAGE SB_SPEC_HASH SB_PASSWORD_HASH \
    SB_ADMIN SB_EXTENSIONS_TEXT SB_INIT_TEXT SB_AUTH SB_TLS <<<"${fields}"
  data::ingest
  [[ -z "${spec_env}" || "${spec_env}" == "${SB_ENV}" ]] || iact::usage_error "spec is for environment '${spec_env}', not '${SB_ENV}'" "pass --env ${spec_env}"
  [[ -z "${spec_driver}" || "${spec_driver}" == "${SB_DRIVER}" ]] || iact::usage_error "spec is for driver '${spec_driver}', not '${SB_DRIVER}'" "run the ${spec_driver} driver's script"
  SB_SETTING_KEYS=()
  SB_SETTING_VALUES=()
  while IFS= read -r line; do
    [[ -z "${line}" ]] && continue
    SB_SETTING_KEYS+=("${line%%$'\x1f'*}")
    SB_SETTING_VALUES+=("${line#*$'\x1f'}")
  done <<<"${settings}"
}

# Fills SB_* for `create NAME SERVICE PORT [--spec FILE]`; without --spec, the driver makes the spec (docs/driver-protocol.md).
sb::load_create_spec() {
  local name="$1" service="$2" port="$3"
  iact::validate_name "${name}"
  iact::validate_service "${service}"
  iact::validate_port "${port}"
  if [[ -n "${ARG_SPEC}" ]]; then
    sb::ingest_spec "${ARG_SPEC}"
  else
    sb::ingest_spec - <<<"{\"name\":\"${name}\",\"service\":\"${service}\",\"port\":$((10#${port})),\"settings\":{}}"
  fi
  [[ "${SPEC_NAME}" == "${name}" ]] || iact::usage_error "spec name '${SPEC_NAME}' does not match '${name}'"
  [[ "${SPEC_SERVICE}" == "${service}" ]] || iact::usage_error "spec service '${SPEC_SERVICE}' does not match '${service}'"
  [[ "${SPEC_PORT}" == "$((10#${port}))" ]] || iact::usage_error "spec port '${SPEC_PORT}' does not match '${port}'"
  SB_SERVICE="${service}"
  SB_PORT="$((10#${port}))"
  sb::validate_fields
}

# SB_JSON = the observed spec for sandbox.json: SB_OBSERVED_JSON, stamped with a hash and password hash
# when the spec came without them (create without --spec; src/drivers/spec.ts does the same).
sb::observed_json() {
  local json="${SB_OBSERVED_JSON}" hash
  if [[ -z "${SB_PASSWORD_HASH}" && "${SB_SERVICE}" != none && "${SB_AUTH:-}" != 0 ]]; then
    SB_PASSWORD_HASH="$(sb::password_hash)"
    json="${json%\}}"
    json="${json%,\"settings\":*}"
    json+=",\"password_hash\":\"${SB_PASSWORD_HASH}\",\"settings\":${SB_OBSERVED_JSON#*,\"settings\":}"
  fi
  if [[ -z "${SB_SPEC_HASH}" ]]; then
    # No spec from iact: a hash of what was written, enough to notice any later change.
    hash="$(sha256sum <<<"${json}")"
    SB_SPEC_HASH="sha256:${hash:0:32}"
    json="${json/\"spec_hash\":\"\"/\"spec_hash\":\"${SB_SPEC_HASH}\"}"
  fi
  SB_JSON="${json}"
}

# --- sandbox files -----------------------------------------------------------------------------

sb::exists() {
  [[ -d "${SB_DIR}" && -f "${SB_DIR}/.meta" ]]
}

# Reads .meta (driver service port version): the cheap identity record written with sandbox.json.
sb::read_meta() {
  local dir="$1" line=''
  META_DRIVER='' META_SERVICE='' META_PORT='' META_VERSION=''
  [[ -r "${dir}/.meta" ]] || return 1
  IFS= read -r line <"${dir}/.meta" || [[ -n "${line}" ]] || return 1
  read -r META_DRIVER META_SERVICE META_PORT META_VERSION <<<"${line}"
  [[ "${META_VERSION}" == - ]] && META_VERSION=''
  [[ -n "${META_PORT}" ]]
}

# Loads an existing sandbox's spec (sandbox.json + secrets/password) into SB_*.
sb::load_existing() {
  local json=''
  sb::exists || iact::die 1 "no sandbox '${SB_NAME}' in environment '${SB_ENV}'" "create it: ${SB_SCRIPT} create ${SB_NAME} SERVICE PORT --env ${SB_ENV}" not-found
  sb::read_meta "${SB_DIR}" || iact::die 1 "sandbox '${SB_NAME}' has no readable .meta" "recreate it with create" not-found
  if [[ "${META_DRIVER}" != "${SB_DRIVER}" ]]; then
    iact::die 1 "sandbox '${SB_NAME}' belongs to the ${META_DRIVER} driver" "use that driver's script" usage
  fi
  SB_SERVICE="${META_SERVICE}"
  SB_PORT="${META_PORT}"
  SB_VERSION="${META_VERSION}"
  svc::set_os_user "${SB_SERVICE}"
  # Before any file in it is read: secrets/password linked to a root file would become the password.
  sb::check_dir
  SB_DB='' SB_USER=''
  { IFS= read -r -d '' json <"${SB_DIR}/sandbox.json"; } 2>/dev/null || true
  # Identity fields precede settings in sandbox.json, so the first match is the top-level one.
  [[ "${json}" =~ \"database\":\"([A-Za-z0-9_]+)\" ]] && SB_DB="${BASH_REMATCH[1]}"
  [[ "${json}" =~ \"user\":\"([A-Za-z0-9_]+)\" ]] && SB_USER="${BASH_REMATCH[1]}"
  SB_MEMORY=''
  [[ "${json}" =~ \"memory\":\"([0-9A-Za-z]+)\" ]] && SB_MEMORY="${BASH_REMATCH[1]}"
  # A setting could be named tls too: ask jq for the top-level field.
  SB_TLS="$(jq -r '.tls == true' "${SB_DIR}/sandbox.json" 2>/dev/null || printf false)"
  [[ -n "${SB_DB:-}" ]] || SB_DB="$(sb::default_ident "${SB_NAME}")"
  [[ -n "${SB_USER:-}" ]] || SB_USER="$(sb::default_ident "${SB_NAME}")"
  SB_PASSWORD=''
  if [[ -r "${SB_DIR}/secrets/password" ]]; then IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true; fi
  svc::check_binaries "${SB_SERVICE}" "${SB_VERSION}"
  [[ "${SB_SERVICE}" == none ]] || svc::decide_reach
}

sb::password_hash() {
  local sum
  sum="$(printf 'iact-password\0%s\0%s\0%s' "${SB_ENV}" "${SB_NAME}" "${SB_PASSWORD}" | sha256sum)"
  printf 'sha256:%s' "${sum:0:16}"
}

# sandbox.json (no password, 0600), secrets/password (0600), .meta, bin/activate. The state plans read:
# written once the server has accepted the spec, never before (docs/driver-protocol.md "Update steps").
sb::write_files() {
  sb::write_password
  sb::write_state
  sb::write_identity
}

# secrets/password (0600): the password the server has.
sb::write_password() {
  [[ "${SB_SERVICE}" == none ]] || sb::write_file "${SB_DIR}/secrets/password" "${SB_PASSWORD}"
}

# sandbox.json: the spec the sandbox was last applied with.
sb::write_state() {
  sb::observed_json
  sb::write_file "${SB_DIR}/sandbox.json" "${SB_JSON}"$'\n'
}

# .meta and bin/activate: which sandbox this is (status and destroy find it by .meta, even half-made).
sb::write_identity() {
  sb::write_file "${SB_DIR}/.meta" "${SB_DRIVER} ${SB_SERVICE} ${SB_PORT} ${SB_VERSION:--}"$'\n'
  sb::write_activate
}

# The subdirectories of a sandbox. Root's, when iact runs as root: the sandbox directory, bin/,
# conf/, logs/, secrets/ (the service user can plant no link or hard link where root writes); the
# service user's: data/ and run/, where its server writes (docs/driver-protocol.md "Sandbox directories").
readonly SB_SUBDIRS='bin logs data run conf secrets'

sb::make_dirs() {
  local d missing=()
  sb::check_dir
  [[ -d "${SB_DIR}" ]] || missing+=("${SB_DIR}")
  for d in ${SB_SUBDIRS}; do
    [[ -d "${SB_DIR}/${d}" ]] || missing+=("${SB_DIR}/${d}")
  done
  # umask 077: every directory made here is 0700.
  ((${#missing[@]} == 0)) || mkdir -p -- "${missing[@]}"
  if ((EUID == 0)) && [[ "${SB_OS_USER}" != root ]]; then
    # A driver that keeps root's files out of the service user's reach its own way (a uid per
    # sandbox) says how; else the layout of docs/driver-protocol.md "Sandbox directories".
    if declare -F drv::own_dirs >/dev/null; then
      drv::own_dirs
    else
      # Traversable, not writable: the server reaches data/, run/, its config and its log file.
      chmod 0711 "${SB_DIR}" "${SB_DIR}/logs" "${SB_DIR}/conf"
      chown -h "${SB_OS_USER}:" "${SB_DIR}/run" "${SB_DIR}/data"
    fi
  fi
}

# The sandbox directory and its subdirectories are real directories: a link would make root write,
# chown or delete wherever it points. As root, the root-owned part must be root's: a sandbox made
# when the service user owned its directory is taken back (sb::take_back_dir); another owner is refused.
sb::check_dir() {
  local d owner name
  if [[ -L "${SB_DIR}" ]]; then
    iact::die 1 "sandbox directory ${SB_DIR} is a symbolic link; iact never writes, chowns or deletes through one" \
      "remove the link (rm -- '${SB_DIR}'); the next apply makes a real directory there" io
  fi
  [[ -e "${SB_DIR}" ]] || return 0
  [[ -d "${SB_DIR}" ]] || iact::die 1 "sandbox path ${SB_DIR} is not a directory" "move it away; the next apply makes the sandbox directory there" io
  for d in ${SB_SUBDIRS}; do
    if [[ -L "${SB_DIR}/${d}" ]] || [[ -e "${SB_DIR}/${d}" && ! -d "${SB_DIR}/${d}" ]]; then
      iact::die 1 "${SB_DIR}/${d} is not a real directory (a link, or a file)" \
        "remove it (rm -- '${SB_DIR}/${d}') and apply again; iact makes the directory" io
    fi
  done
  # A driver with its own layout (drv::own_dirs: a uid per sandbox) sets every owner itself.
  ((EUID == 0)) && ! declare -F drv::own_dirs >/dev/null || return 0
  local take_back=0
  while read -r owner name; do
    [[ "${owner}" == root ]] && continue
    if [[ "${owner}" == "${SB_OS_USER:-}" ]]; then
      take_back=1
    else
      iact::die 1 "${name} is owned by ${owner}, not root" "check who made it; chown root: '${name}' if it is this sandbox's, or destroy the sandbox" io
    fi
  done < <(stat -c '%U %n' -- "${SB_DIR}" "${SB_DIR}/bin" "${SB_DIR}/logs" "${SB_DIR}/conf" "${SB_DIR}/secrets" 2>/dev/null)
  ((take_back == 0)) || sb::take_back_dir
}

# A sandbox from before root kept its directory: the service user owned it and could have planted
# links, hard links or FIFOs where root writes. Those go, then the directories become root's.
sb::take_back_dir() {
  local planted=() d
  chown -h root: "${SB_DIR}"
  chmod 0711 "${SB_DIR}"
  for d in bin logs conf secrets; do
    if [[ -d "${SB_DIR}/${d}" ]]; then chown -h root: "${SB_DIR}/${d}"; fi
  done
  for d in logs conf; do
    if [[ -d "${SB_DIR}/${d}" ]]; then chmod 0711 "${SB_DIR}/${d}"; fi
  done
  # From here no one but root can add an entry; remove what was planted before.
  mapfile -t planted < <(find "${SB_DIR}" -mindepth 1 -maxdepth 2 \( -path "${SB_DIR}/data" -o -path "${SB_DIR}/run" \) -prune -o \
    \( -type l -o -type p -o -type s -o -type b -o -type c -o \( -type f -links +1 \) \) -print 2>/dev/null)
  if ((${#planted[@]} > 0)); then
    iact::warn "removed what is no file of iact's from ${SB_DIR} (a link, hard link or FIFO root would have written through): ${planted[*]}"
    rm -f -- "${planted[@]}"
  fi
  iact::info "sandbox directory ${SB_DIR} is root's again (the ${SB_OS_USER} user keeps data/ and run/)"
}

# Writes a file with mode 0600 (the scripts run under umask 077) without a subprocess.
sb::write_file() {
  local dest="$1" content="$2"
  printf '%s' "${content}" >"${dest}"
}

# rm only what exists (no subprocess in the common case of nothing to remove).
sb::remove_existing() {
  local f todo=()
  for f in "$@"; do [[ -e "${f}" || -L "${f}" ]] && todo+=("${f}"); done
  ((${#todo[@]} == 0)) || rm -f -- "${todo[@]}"
}

sb::write_activate() {
  iact::write_activate "${SB_DIR}/bin/activate" "${SB_NAME}" "${SB_ENV}" "${SB_SERVICE}" "${SB_DIR}" "${SB_PORT}" "${SB_DB:-}" "${SB_USER:-}"
}

# One writer per sandbox at a time. Servers must not inherit the lock fd (sb::detach closes it).
sb::lock() {
  [[ -d "${SB_ENV_DIR}" ]] || return 0
  exec {SB_LOCK_FD}>"${SB_ENV_DIR}/.${SB_NAME}.lock"
  flock -w 300 "${SB_LOCK_FD}" || iact::die 1 "another iact is working on sandbox '${SB_NAME}'" "wait for it to finish" locked
}

# Runs in a child about to exec a long-lived process: drop fds it must not hold.
sb::detach_fds() {
  if [[ -n "${SB_LOCK_FD:-}" ]]; then exec {SB_LOCK_FD}>&-; fi
  return 0
}

# --- process state -------------------------------------------------------------------------

# Alive and not a zombie (a reparented daemon may wait a while to be reaped).
iact::pid_alive() {
  local pid="$1" stat='' state
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  { IFS= read -r stat <"/proc/${pid}/stat"; } 2>/dev/null || return 1
  state="${stat##*) }"
  state="${state:0:1}"
  [[ "${state}" != Z && "${state}" != X ]]
}

# Sets SB_PID to the sandbox's live pid (pidfile + /proc, no subprocess); false when not running.
# The pid must pass the driver's cheap identity check (drv::pid_is_ours): a pidfile the service user
# can write may name any process.
sb::probe_pid() {
  drv::set_pidfile
  proc::read_pidfile "${SB_PIDFILE}" && iact::pid_alive "${REPLY}" || return 1
  # A driver whose pidfiles are root's own (namespace) has nothing to check.
  if declare -F drv::pid_is_ours >/dev/null; then drv::pid_is_ours "${REPLY}" || return 1; fi
  SB_PID="${REPLY}"
}

# SB_PID = this sandbox's server, proven before anything is sent to it (docs/driver-protocol.md
# "Processes"): the process listening on its port from its data directory; without one (a server
# still starting), the pidfile's pid if it works in the data directory and runs the service's
# binary. A pidfile naming another process is reported, and that process left alone. False: none.
sb::find_server() {
  local named='' data="${SB_DIR}/data"
  SB_PID=''
  drv::set_pidfile
  if proc::read_pidfile "${SB_PIDFILE}" && iact::pid_alive "${REPLY}"; then named="${REPLY}"; fi
  # The pidfile's process holding the listening socket itself proves it without a scan of every process.
  if [[ -n "${named}" ]] && proc::works_in "${named}" "${data}" && proc::holds_listener "${named}" "${SB_PORT}"; then
    SB_PID="${named}"
  elif proc::port_listener "${SB_PORT}" && proc::works_in "${REPLY}" "${data}"; then
    SB_PID="${REPLY}"
  elif [[ -n "${named}" ]] && proc::works_in "${named}" "${data}" && sb::runs_server_binary "${named}"; then
    SB_PID="${named}"
  fi
  if [[ -n "${named}" && "${named}" != "${SB_PID}" ]]; then
    iact::warn "${SB_PIDFILE} names pid ${named} ($(proc::describe "${named}")), which is not the server of sandbox ${SB_NAME}; that process was left alone$([[ -n "${SB_PID}" ]] && printf '; the server is pid %s, found by its port %s' "${SB_PID}" "${SB_PORT}")"
  fi
  [[ -n "${SB_PID}" ]]
}

# The executable of PID is the service's server binary (SVC_SERVER_BIN when known, else by name).
sb::runs_server_binary() {
  local pid="$1" exe want="${IACT_CAT_BINARIES[${SB_SERVICE}]%% *}"
  if [[ -n "${SVC_SERVER_BIN:-}" ]]; then
    [[ "/proc/${pid}/exe" -ef "${SVC_SERVER_BIN}" ]]
    return
  fi
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || return 1
  [[ "${exe##*/}" == "${want}" ]]
}

# Running pid of the sandbox in SB_DIR (prints it), or false.
sb::running_pid() {
  sb::probe_pid || sb::server_by_port || return 1
  printf '%s' "${SB_PID}"
}

# A server the pidfile does not lead to (gone from it, or forged) is still found where it listens
# (TCP drivers; the namespace driver's pidfiles are root's own).
sb::server_by_port() {
  ((SB_TCP)) && [[ "${SB_SERVICE}" != none ]] && iact::port_open "${SB_PORT}" && sb::find_server
}

sb::is_running() {
  if [[ "${SB_SERVICE}" == none ]]; then
    [[ ! -e "${SB_DIR}/.stopped" ]]
    return
  fi
  sb::running_pid >/dev/null
}

# A killed server stays a zombie until pid 1 reaps it (~1.5 s here); postgres refuses to start
# while the pid in its postmaster.pid exists, so wait for the reaping first.
sb::wait_reaped() {
  local pid
  drv::set_pidfile
  proc::read_pidfile "${SB_PIDFILE}" || return 0
  pid="${REPLY}"
  iact::wait_for 10 sb::not_zombie "${pid}" || iact::warn "process ${pid} of ${SB_NAME} is still a zombie; starting anyway"
}

sb::not_zombie() {
  local pid="$1" stat=''
  { IFS= read -r stat <"/proc/${pid}/stat"; } 2>/dev/null || return 0
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z ]]
}

# Starts the service and waits until it is ready and a password login works.
sb::start_service() {
  local deadline
  if [[ "${SB_SERVICE}" == none ]]; then
    sb::remove_existing "${SB_DIR}/.stopped"
    return 0
  fi
  if ! sb::is_running; then
    sb::wait_reaped
    if iact::port_open "${SB_PORT}"; then
      sb::die_port_in_use
    fi
    store::ensure_mounted stopped
    svc::server_argv
    drv::launch
    # shellcheck disable=SC2034 # read by svc::ensure_credentials
    SB_STARTED_NOW=1
    deadline=$((SECONDS + ${IACT_START_TIMEOUT:-60}))
    until svc::ready; do
      if ! iact::pid_alive "${SB_LAUNCH_PID}" || ((SECONDS >= deadline)); then
        sb::log_tail
        drv::stop_processes
        iact::die 1 "${SB_SERVICE} in sandbox '${SB_NAME}' did not start" "see ${SB_DIR}/logs/" start-failed
      fi
      # Postgres and redis are ready in tens of ms: a short interval is most of the saving.
      sleep 0.01
    done
    drv::after_ready
  fi
}

# The last lines of the sandbox's logs, for people and as the structured error's detail.
sb::log_tail() {
  local f lines
  for f in "${SB_DIR}"/logs/*.log; do
    # logs/ is the service user's: a link it planted would make root print another file.
    [[ -s "${f}" && -f "${f}" && ! -L "${f}" ]] || continue
    lines="$(tail -n 15 "${f}")"
    iact::warn "last lines of ${f}:"
    printf '%s\n' "${lines}" >&2
    IACT_ERROR_DETAIL+="${f}:"$'\n'"${lines}"$'\n'
  done
}

# Waits until a real login works (the service may still be finishing its startup).
sb::wait_login() {
  # The credentials' own session logged in with the password just now (svc::postgres_ensure_credentials).
  if ((${SVC_LOGIN_CHECKED:-0})); then
    SVC_LOGIN_CHECKED=0
    return 0
  fi
  iact::wait_for 30 svc::login_works || iact::die 1 "a password login to ${SB_SERVICE} on ${IACT_CONNECT_HOST}:${SB_PORT} does not work" "see ${SB_DIR}/logs/" login-failed
}

# --- verbs ---------------------------------------------------------------------------------

# The port is taken. A server left running after its sandbox directory was deleted (rm -rf behind
# iact's back) still has that directory as its cwd: name it, since nothing else knows its pid.
sb::die_port_in_use() {
  local proc cwd
  for proc in /proc/[0-9]*; do
    cwd="$(readlink "${proc}/cwd" 2>/dev/null)" || continue
    if [[ "${cwd}" == "${SB_DIR}/"*" (deleted)" || "${cwd}" == "${SB_DIR} (deleted)" ]]; then
      iact::die 1 "port ${SB_PORT} is held by pid ${proc#/proc/}, a server left running after the directory of sandbox '${SB_NAME}' was deleted" \
        "stop it: kill ${proc#/proc/} (a redis without its directory ignores SIGTERM: kill -9 ${proc#/proc/}), then apply again" port-in-use
    fi
  done
  iact::die 1 "port ${SB_PORT} is already in use" "choose another port, or stop what listens on ${IACT_CONNECT_HOST}:${SB_PORT}" port-in-use
}

# NAME --spec FILE of update and preflight: SB_* from the spec, checked again here (names, ports).
sb::load_named_spec() {
  local verb="$1" usage="$2"
  sb::need_args "${verb}" 1 1 "${usage}"
  [[ -n "${ARG_SPEC}" ]] || iact::usage_error "${verb} needs --spec FILE"
  sb::locate "${ARG_POS[0]}"
  sb::ingest_spec "${ARG_SPEC}"
  [[ "${SPEC_NAME}" == "${SB_NAME}" ]] || iact::usage_error "spec name '${SPEC_NAME}' does not match '${SB_NAME}'"
  iact::validate_service "${SPEC_SERVICE}"
  iact::validate_port "${SPEC_PORT}"
  SB_SERVICE="${SPEC_SERVICE}"
  SB_PORT="$((10#${SPEC_PORT}))"
  sb::validate_fields
  drv::prerequisites
}

# Would create succeed? Binaries, version, prerequisites, a free port; changes nothing. apply asks
# before a replace deletes anything. --port-is-ours: the port belongs to the sandbox being replaced.
sb::cmd_preflight() {
  sb::load_named_spec preflight 'NAME --spec FILE [--port-is-ours]'
  svc::set_os_user "${SB_SERVICE}"
  svc::check_binaries "${SB_SERVICE}" "${SB_VERSION}"
  if ! ((ARG_PORT_IS_OURS)) && [[ "${SB_SERVICE}" != none ]] && iact::port_open "${SB_PORT}"; then
    sb::die_port_in_use
  fi
  iact::info "sandbox ${SB_NAME} can be created"
}

# create is an ensure: a sandbox already there (.meta read, true) must be this driver's and service's.
sb::claim_existing() {
  sb::read_meta "${SB_DIR}" || return 1
  [[ "${META_DRIVER}" == "${SB_DRIVER}" ]] || iact::die 1 "sandbox '${SB_NAME}' already exists with the ${META_DRIVER} driver" "destroy it first (${META_DRIVER}'s script destroy ${SB_NAME} --yes)" usage
  [[ "${META_SERVICE}" == "${SB_SERVICE}" ]] || iact::die 1 "sandbox '${SB_NAME}' already exists with service ${META_SERVICE}" "destroy it first: ${SB_SCRIPT} destroy ${SB_NAME} --yes --env ${SB_ENV}" usage
}

sb::cmd_create() {
  local old_port='' running=0 fresh=0 branched=0
  sb::need_args create 3 3 'NAME SERVICE PORT [--spec FILE]'
  sb::locate "${ARG_POS[0]}"
  sb::load_create_spec "${ARG_POS[0]}" "${ARG_POS[1]}" "${ARG_POS[2]}"
  store::take_from
  drv::prerequisites
  svc::set_os_user "${SB_SERVICE}"
  svc::check_binaries "${SB_SERVICE}" "${SB_VERSION}"
  if [[ ! -d "${SB_ENV_DIR}" ]]; then
    # Directories iact makes on the way are traversable (0711, not readable) for the service users.
    (umask 066 && mkdir -p "${SB_ENV_DIR}")
  fi
  [[ "${SB_SERVICE}" == none ]] || svc::decide_reach "${SB_ENV_DIR}"
  sb::lock
  sb::check_dir

  sb::claim_existing && old_port="${META_PORT}"
  if [[ -n "${old_port}" ]]; then
    SB_PORT_SAVED="${SB_PORT}"
    SB_PORT="${old_port}"
    sb::is_running && running=1
    SB_PORT="${SB_PORT_SAVED}"
  fi
  # A port taken by anything but this very sandbox is an error before anything is created.
  if ! ((running)) || [[ "${old_port}" != "${SB_PORT}" ]]; then
    if [[ "${SB_SERVICE}" != none ]] && iact::port_open "${SB_PORT}"; then
      sb::die_port_in_use
    fi
  fi
  # Keep the stored password when the spec has none (create is an ensure); password: null has none.
  if [[ -z "${SB_PASSWORD}" && "${SB_SERVICE}" != none && "${SB_AUTH:-}" != 0 ]]; then
    if [[ -r "${SB_DIR}/secrets/password" ]]; then
      IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true
    fi
    [[ -n "${SB_PASSWORD}" ]] || SB_PASSWORD="$(sb::random_password)"
  fi
  SVC_SERVER_PASSWORD=''
  [[ -r "${SB_DIR}/secrets/password" ]] && { IFS= read -r -d '' SVC_SERVER_PASSWORD <"${SB_DIR}/secrets/password" || true; }

  sb::make_dirs
  # Visible to status and destroy from here on, whatever happens next (a full disk, a kill).
  [[ -f "${SB_DIR}/.meta" ]] || sb::write_file "${SB_DIR}/.meta" "${SB_DRIVER} ${SB_SERVICE} ${SB_PORT} ${SB_VERSION:--}"$'\n'
  if [[ ! -f "${SB_DIR}/.initialized" ]]; then
    # Half-made (killed) or new: whatever is there is not trusted; start from the template again.
    fresh=1
    if ((running)); then
      SB_PORT_SAVED="${SB_PORT}"
      SB_PORT="${old_port}"
      drv::stop_processes
      SB_PORT="${SB_PORT_SAVED}"
      running=0
    fi
    if store::has_from; then
      store::seed_branch
      branched=1
    elif declare -F "svc::${SB_SERVICE}_make_template" >/dev/null; then
      svc::ensure_template "${SB_SERVICE}" "${SB_OS_USER}"
      # A layer over the template, a reflinked copy or a copy (docs/data.md "Storage"); a copy needs room first.
      store::mode "${SB_DIR}"
      [[ "${REPLY}" == overlay ]] || sb::check_template_room
      store::seed "${SVC_TEMPLATE}/data"
    fi
    sb::remove_existing "${SB_DIR}"/run/*.pid "${SB_DIR}/.stopped"
  elif ((running)) && [[ "${old_port}" != "${SB_PORT}" ]]; then
    SB_PORT_SAVED="${SB_PORT}"
    SB_PORT="${old_port}"
    drv::stop_processes
    SB_PORT="${SB_PORT_SAVED}"
    running=0
  fi
  # A layered data/ after a reboot is an empty mount point until mounted again (docs/data.md "Storage").
  store::ensure_mounted
  sb::write_identity
  svc::write_config
  svc::decide_reach
  # A running sandbox whose recorded settings differ (or are unknown: sandbox.json is gone) restarts:
  # its new process reads every setting, where a reload could carry only the reloadable ones.
  if ((running)) && ! ((fresh)) && [[ "${SB_SERVICE}" != none ]] && ! sb::recorded_settings_match; then
    iact::info "sandbox ${SB_NAME}: restarting it so that it runs with the spec's settings"
    drv::stop_processes
    running=0
  fi
  drv::prepare
  # A create that fails stops the server it started: no half-configured server is left listening.
  IACT_ERROR_DEFER=1
  trap 'sb::create_failed' EXIT
  sb::start_service
  if [[ "${SB_SERVICE}" != none ]]; then
    # A branch's data holds its source's database and user: they take this sandbox's names.
    ((!branched)) || svc::call adopt "${STORE_FROM_DB}" "${STORE_FROM_USER}" || iact::die 1 "could not rename the database and user of branch '${SB_NAME}'" "see ${SB_DIR}/logs/" login-failed
    # Credentials first: a reload logs in with the password the server has (docs/driver-protocol.md).
    SVC_LOGIN_IN_SESSION=1 svc::ensure_credentials || iact::die 1 "could not set the credentials of sandbox '${SB_NAME}'" "see ${SB_DIR}/logs/" login-failed
    sb::wait_login
    # Extensions and init files (docs/data.md); a failure leaves the create unfinished, so it is planned again.
    data::after_create
  fi
  # The state last: sandbox.json and secrets/password record only what the server accepted.
  sb::write_password
  sb::write_state
  : >"${SB_DIR}/.initialized"
  trap - EXIT
  # shellcheck disable=SC2034 # read by iact::die
  IACT_ERROR_DEFER=0
  iact::info "sandbox ${SB_NAME} (${SB_SERVICE}, ${SB_DRIVER}) ready on 127.0.0.1:${SB_PORT} in ${SB_ENV}"
}

# data/ from the template, after checking the filesystem has room for it. A copy the disk could not
# hold is removed again (the sandbox stays visible by its .meta), so a full disk does not stay full.
# Fails (io) before a copy of the template that the sandbox's filesystem has no room for.
sb::check_template_room() {
  local need free
  sb::template_bytes
  # Room for the first WAL segments, logs and a dump on top of the copy.
  need=$((REPLY + 16 * 1024 * 1024))
  free="$(df -P -B1 -- "${SB_DIR}" 2>/dev/null | awk 'NR == 2 { print $4 }')"
  if [[ "${free}" =~ ^[0-9]+$ ]] && ((free < need)); then
    iact::die 1 "not enough disk space for sandbox '${SB_NAME}': it needs about $(sb::mb "${need}") MB in ${SB_DIR}, and $(sb::mb "${free}") MB are free" \
      "free space on that filesystem, or set IACT_SANDBOX_ROOT to one with room; then apply again (or destroy ${SB_NAME})" io
  fi
}

# REPLY = bytes of the template's data/ (measured once, kept next to it).
sb::template_bytes() {
  REPLY=''
  [[ -r "${SVC_TEMPLATE}/.bytes" ]] && IFS= read -r REPLY <"${SVC_TEMPLATE}/.bytes"
  if [[ ! "${REPLY}" =~ ^[0-9]+$ ]]; then
    REPLY="$(du -sb -- "${SVC_TEMPLATE}/data" 2>/dev/null | awk '{ print $1 }')"
    [[ "${REPLY}" =~ ^[0-9]+$ ]] || REPLY=0
    { printf '%s\n' "${REPLY}" >"${SVC_TEMPLATE}/.bytes"; } 2>/dev/null || true
  fi
}

sb::mb() { printf '%d' $((($1 + 1048575) / 1048576)); }

# True when sandbox.json records exactly the spec's settings (a create that changes none needs no restart).
sb::recorded_settings_match() {
  [[ -r "${SB_DIR}/sandbox.json" ]] || return 1
  jq -e --argjson new "${SB_OBSERVED_JSON}" '(.settings // {}) == ($new.settings // {})' "${SB_DIR}/sandbox.json" >/dev/null 2>&1
}

# EXIT trap of create: a failed create stops the server this run started, then prints the error line last.
sb::create_failed() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)) && [[ "${SB_STARTED_NOW:-0}" == 1 && "${SB_SERVICE}" != none ]]; then
    iact::warn "stopping the ${SB_SERVICE} server of ${SB_NAME}: its create did not finish"
    drv::stop_processes || true
  fi
  [[ -n "${IACT_ERROR_LINE:-}" ]] && printf '%s\n' "${IACT_ERROR_LINE}" >&2
  exit "${rc}"
}

# create-many --specs FILE: many `none` sandboxes (a JSON array of specs) in one process, since
# a process per sandbox dominates their cost. Prints one {name, ok, message?} per spec (failures
# first); a bad spec fails alone. Checks are the same as create's, without exiting.
sb::cmd_create_many() {
  local fields settings observed spec_env spec_driver name service port i key value problem
  local results='' sep='' dirs=() names=() jsons=() ports=() line msg
  sb::need_args create-many 0 0 '--specs FILE'
  [[ -n "${ARG_SPECS}" && -r "${ARG_SPECS}" ]] || iact::usage_error "create-many needs --specs FILE (a JSON array of specs)"
  sb::locate
  drv::prerequisites
  while true; do
    fields='' settings='' observed=''
    IFS= read -r -d '' fields || break
    IFS= read -r -d '' _ || true # password: none sandboxes have none
    IFS= read -r -d '' settings || true
    IFS= read -r -d '' observed || true
    IFS=$'\x1f' read -r name spec_env spec_driver service port _ _ _ _ _ _ _ <<<"${fields}"
    problem=''
    if ! iact::is_name "${name}"; then
      problem="invalid sandbox name '${name}'"
    elif [[ "${service}" != none ]]; then
      problem="create-many makes only none sandboxes, not ${service}"
    elif ! iact::is_port "${port}"; then
      problem="invalid port '${port}'"
    elif [[ -n "${spec_env}" && "${spec_env}" != "${SB_ENV}" ]]; then
      problem="spec is for environment '${spec_env}', not '${SB_ENV}'"
    elif [[ -n "${spec_driver}" && "${spec_driver}" != "${SB_DRIVER}" ]]; then
      problem="spec is for driver '${spec_driver}'"
    fi
    while [[ -z "${problem}" ]] && IFS= read -r line; do
      [[ -z "${line}" ]] && continue
      key="${line%%$'\x1f'*}" value="${line#*$'\x1f'}"
      iact::setting_problem none "${key}" "${value}" || problem="${REPLY}"
    done <<<"${settings}"
    if [[ -z "${problem}" ]] && sb::read_meta "${SB_ENV_DIR}/${name}" && [[ "${META_DRIVER}" != "${SB_DRIVER}" || "${META_SERVICE}" != none ]]; then
      problem="sandbox '${name}' already exists with the ${META_DRIVER} driver and service ${META_SERVICE}"
    fi
    if [[ -n "${problem}" ]]; then
      msg="${problem//\\/\\\\}"
      msg="${msg//\"/\\\"}"
      results+="${sep}{\"name\":\"${name//[^a-z0-9-]/?}\",\"ok\":false,\"message\":\"${msg}\"}"
      sep=','
      continue
    fi
    names+=("${name}") jsons+=("${observed}") ports+=("$((10#${port}))")
    dirs+=("${SB_ENV_DIR}/${name}" "${SB_ENV_DIR}/${name}/bin" "${SB_ENV_DIR}/${name}/data" "${SB_ENV_DIR}/${name}/logs")
  done < <(jq -j --arg env "${SB_ENV}" --arg driver "${SB_DRIVER}" --arg wmem '' "${SB_SPEC_JQ_DEFS} if type != \"array\" then error(\"not an array\") else .[] end | ${SB_SPEC_JQ}" "${ARG_SPECS}" 2>/dev/null)
  if ((${#names[@]} > 0)); then
    [[ -d "${SB_ENV_DIR}" ]] || (umask 066 && mkdir -p "${SB_ENV_DIR}")
    mkdir -p -- "${dirs[@]}"
  fi
  SB_SERVICE=none SB_OS_USER=root
  for i in "${!names[@]}"; do
    SB_NAME="${names[i]}" SB_DIR="${SB_ENV_DIR}/${names[i]}" SB_PORT="${ports[i]}"
    sb::write_file "${SB_DIR}/sandbox.json" "${jsons[i]}"$'\n'
    sb::write_file "${SB_DIR}/.meta" "${SB_DRIVER} none ${SB_PORT} -"$'\n'
    sb::write_activate
    [[ -e "${SB_DIR}/.stopped" ]] && sb::remove_existing "${SB_DIR}/.stopped"
    : >"${SB_DIR}/.initialized"
    results+="${sep}{\"name\":\"${SB_NAME}\",\"ok\":true}"
    sep=','
  done
  printf '[%s]\n' "${results}"
  iact::info "${#names[@]} none sandbox(es) ready in ${SB_ENV}"
}

# What an update rewrites: kept aside until it has worked, put back if it fails.
SB_UPDATE_FILES=(sandbox.json .meta secrets/password bin/activate data/iact.conf data/pg_hba.conf data/pg_ident.conf conf/my.cnf conf/redis.conf)
SB_UPDATE_SAVED=''
SB_UPDATE_WAS_RUNNING=0
SB_UPDATE_STARTED_FOR_STEPS=0
SB_UPDATE_OLD_PASSWORD=''
SVC_SERVER_PASSWORD=

sb::update_snapshot() {
  local f
  SB_UPDATE_SAVED="${SB_DIR}/.update-saved"
  rm -rf -- "${SB_UPDATE_SAVED}"
  (umask 077 && mkdir -p -- "${SB_UPDATE_SAVED}/secrets" "${SB_UPDATE_SAVED}/bin" "${SB_UPDATE_SAVED}/data" "${SB_UPDATE_SAVED}/conf")
  for f in "${SB_UPDATE_FILES[@]}"; do
    # -P: a link planted in data/ is kept as a link, never read through.
    if [[ -f "${SB_DIR}/${f}" ]]; then cp -Pp -- "${SB_DIR}/${f}" "${SB_UPDATE_SAVED}/${f}"; fi
  done
  IACT_ERROR_DEFER=1
  trap 'sb::update_rollback' EXIT
}

# EXIT trap of a failed update: the files as last applied, and the server running again if it was.
# Without it the new spec would be recorded as applied, and the next plan would say "No changes".
sb::update_rollback() {
  local rc=$? f
  trap - EXIT
  if ((rc != 0)) && [[ -d "${SB_UPDATE_SAVED}" ]]; then
    for f in "${SB_UPDATE_FILES[@]}"; do
      # -T: a rename onto the name itself, never into a directory a link there points to.
      if [[ -f "${SB_UPDATE_SAVED}/${f}" ]]; then mv -fT -- "${SB_UPDATE_SAVED}/${f}" "${SB_DIR}/${f}"; fi
    done
    rm -rf -- "${SB_UPDATE_SAVED}"
    iact::warn "the update of sandbox ${SB_NAME} failed; it is back at its last applied spec"
    # set-password worked but a later step failed: the running server gets the old password back.
    if [[ "${SVC_SERVER_PASSWORD}" != "${SB_UPDATE_OLD_PASSWORD}" ]] && sb::is_running; then
      # shellcheck disable=SC2034 # read by svc::ensure_credentials
      SB_PASSWORD="${SB_UPDATE_OLD_PASSWORD}" SB_STARTED_NOW=0
      svc::set_password || iact::warn "sandbox ${SB_NAME} kept its new password; apply again to converge"
    fi
    # A stopped sandbox started for its steps is stopped again.
    if ((SB_UPDATE_STARTED_FOR_STEPS)) && sb::is_running; then drv::stop_processes; fi
    if ((SB_UPDATE_WAS_RUNNING)) && ! sb::is_running; then
      # A fresh process reads the restored files; this one holds the new spec and the lock.
      if [[ -n "${SB_LOCK_FD:-}" ]]; then exec {SB_LOCK_FD}>&-; fi
      IACT_DRIVER_ERRORS='' "${BASH}" "${SCRIPT_DIR}/${SB_SCRIPT}" start "${SB_NAME}" --env "${SB_ENV}" >/dev/null ||
        iact::warn "sandbox ${SB_NAME} did not start again with its last applied spec; see ${SB_DIR}/logs/"
    fi
  fi
  # The structured error line comes last (docs/driver-protocol.md "Errors").
  [[ -n "${IACT_ERROR_LINE:-}" ]] && printf '%s\n' "${IACT_ERROR_LINE}" >&2
  exit "${rc}"
}

# The steps of docs/data.md, on the running server at its new port: extensions, then the init files.
sb::update_data_steps() {
  if ((STEP_EXTENSIONS)) && ((${#SB_EXTENSIONS[@]} > 0)); then svc::call extensions; fi
  if ((STEP_INIT)) && ((${#SB_INIT_FILES[@]} > 0)); then data::run_init; fi
  return 0
}

sb::update_done() {
  trap - EXIT
  # shellcheck disable=SC2034 # read by iact::die
  IACT_ERROR_DEFER=0
  rm -rf -- "${SB_UPDATE_SAVED}"
}

# STEP_* = the steps of this update (docs/driver-protocol.md "Update steps"): --steps a,b; --restart
# adds restart. A caller from before steps existed passes neither list nor flag, or --restart alone:
# it gets what update always did, set-password and reload (plus restart with --restart).
sb::update_steps() {
  local step steps=()
  STEP_SET_PASSWORD=0 STEP_RELOAD=0 STEP_RESTART=0 STEP_GRANT=0 STEP_EXTENSIONS=0 STEP_INIT=0
  if ((ARG_STEPS_GIVEN)); then
    IFS=, read -r -a steps <<<"${ARG_STEPS}"
  else
    steps=(set-password reload)
  fi
  ((ARG_RESTART)) && steps+=(restart)
  for step in "${steps[@]}"; do
    case "${step}" in
      set-password) STEP_SET_PASSWORD=1 ;;
      grant) STEP_GRANT=1 ;;
      extensions) STEP_EXTENSIONS=1 ;;
      init) STEP_INIT=1 ;;
      reload) STEP_RELOAD=1 ;;
      restart) STEP_RESTART=1 ;;
      recreate)
        # docker's restart: a new container on the same volume (docs/driver-protocol.md "Update steps").
        [[ "${SB_DRIVER}" == docker ]] || iact::usage_error "the ${SB_DRIVER} driver has no step 'recreate' (docker only)" "pass --steps restart: a new process on the same data directory"
        STEP_RESTART=1
        ;;
      '') ;;
      *) iact::usage_error "unknown update step '${step}'" "use set-password, grant, reload, restart, extensions and init, comma-separated" ;;
    esac
  done
  SB_STEPS_TEXT="${steps[*]}"
  return 0
}

# Which steps the change from sandbox.json to the new spec needs; refuses (exit 2, nothing changed)
# when the given steps cannot carry it out. Sets SB_RELOAD_KEYS (changed reloadable settings) and
# SB_DROPPED_KEYS (settings removed from the spec).
sb::update_check_steps() {
  local kind key old_memory='' old_admin='' old_extensions='' old_init='' old_auth='' restart_for=() reload_for=() password_for=() missing=()
  SB_RELOAD_KEYS=() SB_DROPPED_KEYS=()
  # A none sandbox is its files: nothing runs, every change is carried by writing them.
  [[ "${SB_SERVICE}" == none ]] && return 0
  [[ "${META_PORT}" == "${SB_PORT}" ]] || restart_for+=(port)
  while IFS=$'\t' read -r kind key; do
    case "${kind}" in
      memory) old_memory="${key}" ;;
      admin) old_admin="${key}" ;;
      extensions) old_extensions="${key}" ;;
      init) old_init="${key}" ;;
      auth) old_auth="${key}" ;;
      setting)
        if [[ " ${IACT_CAT_RELOADABLE[${SB_SERVICE}]} " == *" ${key} "* ]]; then
          reload_for+=("settings.${key}")
          SB_RELOAD_KEYS+=("${key}")
        else
          restart_for+=("settings.${key}")
        fi
        ;;
      dropped) SB_DROPPED_KEYS+=("${key}") ;;
    esac
  done < <(jq -r --argjson new "${SB_OBSERVED_JSON}" '
      "memory\t\(.memory // "")",
      "admin\t\(if .admin == true then "1" else "" end)",
      "extensions\t\((.extensions // []) | join(" "))",
      "init\t\((.init // []) | join(" "))",
      "auth\t\(if .auth == false then "0" else "" end)",
      ((.settings // {}) as $o | $new.settings as $n
       | (($o | keys) + ($n | keys) | unique[] | select($o[.] != $n[.]) | "setting\t\(.)"),
         ($o | keys[] as $k | select($n | has($k) | not) | "dropped\t\($k)"))' "${SB_DIR}/sandbox.json" 2>/dev/null)
  [[ "${old_memory}" == "${SB_MEMORY}" ]] || restart_for+=(memory)
  [[ "${SB_PASSWORD}" == "${SVC_SERVER_PASSWORD}" && "${SB_AUTH}" == "${old_auth}" ]] || password_for+=(password)
  # What docs/data.md adds: each field has its own step, and no other step carries it.
  if [[ "${SB_ADMIN}" != "${old_admin}" ]] && ! ((STEP_GRANT)); then missing+=("grant (admin)"); fi
  if [[ "${SB_EXTENSIONS_TEXT}" != "${old_extensions}" ]] && ! ((STEP_EXTENSIONS)); then missing+=("extensions (extensions)"); fi
  if [[ "${SB_INIT_TEXT}" != "${old_init}" ]] && ! ((STEP_INIT)); then missing+=("init (init)"); fi
  if ((${#restart_for[@]} > 0)) && ! ((STEP_RESTART)); then missing+=("${SB_RESTART_STEP:-restart} (${restart_for[*]})"); fi
  # A restart starts a process that reads every setting: it carries reloadable ones too.
  if ((${#reload_for[@]} > 0)) && ! ((STEP_RELOAD || STEP_RESTART)); then missing+=("reload (${reload_for[*]})"); fi
  if ((${#password_for[@]} > 0)) && ! ((STEP_SET_PASSWORD)); then missing+=("set-password (password)"); fi
  ((${#missing[@]} == 0)) && return 0
  local IFS=';'
  iact::usage_error "the update of sandbox '${SB_NAME}' needs the step(s) ${missing[*]}, which --steps '${SB_STEPS_TEXT// /,}' does not give" \
    "pass the steps iact plan lists for this change (iact apply does), e.g. --steps set-password,reload,restart"
}

# What every driver's update does first: the spec, its steps, the sandbox it changes (META_*), the
# password the server has (SVC_SERVER_PASSWORD), and the refusal of steps that cannot carry the change.
sb::update_begin() {
  sb::load_named_spec update 'NAME --spec FILE|- --steps STEP[,STEP...]'
  sb::update_steps
  { sb::read_meta "${SB_DIR}" && [[ -f "${SB_DIR}/.initialized" ]]; } || iact::die 1 "no sandbox '${SB_NAME}' in environment '${SB_ENV}'" "create it first" not-found
  [[ "${META_DRIVER}" == "${SB_DRIVER}" ]] || iact::die 1 "sandbox '${SB_NAME}' belongs to the ${META_DRIVER} driver" "use that driver's script" usage
  [[ "${META_SERVICE}" == "${SB_SERVICE}" ]] || iact::die 2 "sandbox '${SB_NAME}' runs ${META_SERVICE}; a service change is a replace, not an update" "destroy and create it (iact apply does)"
  # The docker driver runs as root throughout (SB_OS_USER set by its script).
  [[ -n "${SB_OS_USER:-}" ]] || svc::set_os_user "${SB_SERVICE}"
  sb::check_dir
  SVC_SERVER_PASSWORD=''
  [[ -r "${SB_DIR}/secrets/password" ]] && { IFS= read -r -d '' SVC_SERVER_PASSWORD <"${SB_DIR}/secrets/password" || true; }
  [[ -n "${SB_PASSWORD}" || "${SB_SERVICE}" == none ]] || SB_PASSWORD="${SVC_SERVER_PASSWORD}"
  sb::update_check_steps
}

# RUNNING (1/0): whether the sandbox ran before its update. A restart onto a new port needs that
# port free; the rollback restores what ran, with the password the server had.
sb::update_was_running() {
  if (($1 && STEP_RESTART)) && [[ "${META_PORT}" != "${SB_PORT}" ]] && iact::port_open "${SB_PORT}"; then
    sb::die_port_in_use
  fi
  SB_UPDATE_WAS_RUNNING="$1" SB_UPDATE_OLD_PASSWORD="${SVC_SERVER_PASSWORD}"
}

sb::cmd_update() {
  local running=0 new_port
  sb::update_begin
  new_port="${SB_PORT}"
  svc::set_os_user "${SB_SERVICE}"
  svc::check_binaries "${SB_SERVICE}" "${SB_VERSION}"
  sb::lock
  SB_PORT="${META_PORT}"
  sb::is_running && running=1
  SB_PORT="${new_port}"
  sb::update_was_running "${running}"
  store::ensure_mounted
  sb::update_snapshot
  svc::write_config
  sb::write_activate
  [[ "${SB_SERVICE}" == none ]] || svc::decide_reach
  if [[ "${SB_SERVICE}" == none ]]; then
    sb::write_files
    sb::update_done
    iact::info "sandbox ${SB_NAME} updated"
    return 0
  fi
  if ((running)); then
    # The running server still listens where it did (postgres names its socket by port).
    SB_PORT="${META_PORT}"
    # A restart that follows gives a server that reads its password from its config (redis) the
    # spec's, even when the one it has now is unknown (a login-failed repair).
    if ((STEP_GRANT)) || { ((STEP_SET_PASSWORD)) && { ! ((STEP_RESTART)) || [[ "${IACT_CAT_PASSWORD_IN_CONFIG[${SB_SERVICE}]}" != 1 ]]; }; }; then
      DATA_REVOKE="${STEP_GRANT}" svc::set_password || iact::die 1 "could not set the new password or grants of sandbox '${SB_NAME}'" "see ${SB_DIR}/logs/" login-failed
    fi
    # A restart that follows reads every setting anyway; a reload first would only check them twice.
    if ((STEP_RELOAD && !STEP_RESTART)); then
      svc::reload "$(drv::service_pid)" "${SB_RELOAD_KEYS[@]}"
    fi
    if ((STEP_RESTART)); then
      drv::stop_processes
      SB_PORT="${new_port}"
      drv::prepare
      sb::start_service
    fi
    SB_PORT="${new_port}"
    sb::wait_login
    sb::update_data_steps
  elif { ((STEP_SET_PASSWORD)) && [[ "${SB_PASSWORD}" != "${SVC_SERVER_PASSWORD}" ]]; } || ((STEP_GRANT || STEP_EXTENSIONS || STEP_INIT)); then
    # Stopped: the files carry everything but what the data directory keeps (a password, grants,
    # extensions, what init files make), which only the server can change. It runs for that and is
    # stopped again (an update leaves it stopped).
    drv::prepare
    SB_UPDATE_STARTED_FOR_STEPS=1
    sb::start_service
    if ((STEP_SET_PASSWORD || STEP_GRANT)); then
      DATA_REVOKE="${STEP_GRANT}" svc::set_password || iact::die 1 "could not set the new password or grants of sandbox '${SB_NAME}'" "see ${SB_DIR}/logs/" login-failed
    fi
    sb::wait_login
    sb::update_data_steps
    drv::stop_processes
  fi
  # The state last: a kill before this line leaves the last applied spec recorded, so the next
  # plan still shows the change (state never claims what the server has not accepted).
  sb::write_files
  sb::update_done
  iact::info "sandbox ${SB_NAME} updated (steps: ${SB_STEPS_TEXT:-none}$( ((running)) || printf '; it was stopped and stays stopped'))"
}

sb::cmd_start() {
  sb::need_args start 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  drv::prerequisites
  sb::load_existing
  sb::lock
  if sb::is_running; then
    iact::info "sandbox ${SB_NAME} is already running"
    return 0
  fi
  drv::prepare
  sb::start_service
  [[ "${SB_SERVICE}" == none ]] || sb::wait_login
  iact::info "sandbox ${SB_NAME} started on 127.0.0.1:${SB_PORT}"
}

sb::cmd_stop() {
  sb::need_args stop 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  sb::hook load_existing
  sb::lock
  if [[ "${SB_SERVICE}" == none ]]; then
    : >"${SB_DIR}/.stopped"
  else
    sb::hook stop_service
  fi
  iact::info "sandbox ${SB_NAME} stopped"
}

# What stop does to a service sandbox where the driver says nothing else: what destroy does.
sb::stop_service() { drv::stop_processes; }

sb::cmd_destroy() {
  local answer=''
  sb::need_args destroy 1 1 'NAME [--yes]'
  sb::locate "${ARG_POS[0]}"
  if [[ -L "${SB_DIR}" ]]; then
    # Neither through it (its target is not a sandbox iact made) nor the link alone (that would report a destroy that did not happen).
    iact::die 1 "sandbox directory ${SB_DIR} is a symbolic link; iact never deletes through one" \
      "remove the link yourself (rm -- '${SB_DIR}'): what it points to is not a directory iact made, so it is left alone" io
  fi
  if [[ ! -e "${SB_DIR}" ]]; then
    iact::info "no sandbox '${SB_NAME}' in environment '${SB_ENV}'; nothing to destroy"
    return 0
  fi
  if sb::read_meta "${SB_DIR}" && [[ "${META_DRIVER}" != "${SB_DRIVER}" ]]; then
    iact::die 1 "sandbox '${SB_NAME}' belongs to the ${META_DRIVER} driver" "use that driver's script" usage
  fi
  if ! ((ARG_YES)) && [[ -t 0 ]]; then
    printf "Destroy sandbox '%s' in %s and all its data? Type 'yes': " "${SB_NAME}" "${SB_ENV}" >&2
    IFS= read -r answer || true
    [[ "${answer}" == yes ]] || iact::die 1 "destroy cancelled" "answer yes, or pass --yes" usage
  fi
  SB_SERVICE="${META_SERVICE:-none}"
  SB_PORT="${META_PORT:-0}"
  # The data goes next: a driver may stop its server at once (no checkpoint, no save).
  # shellcheck disable=SC2034 # read by drv::stop_processes
  SB_DISCARD=1
  [[ "${SB_SERVICE}" == none ]] || drv::stop_processes
  drv::cleanup
  # Unmount a layered data/ before rm (which would otherwise walk into the mount).
  store::release_data
  # SB_DIR is ROOT/ENV/NAME with NAME validated: never anything above the sandbox.
  rm -rf -- "${SB_DIR}" "${SB_ENV_DIR}/.${SB_NAME}.lock"
  iact::info "sandbox ${SB_NAME} destroyed"
}

# status NAME...: the environment, and the names asked for (none: all) in SB_WANTED.
sb::locate_wanted() {
  local n
  sb::locate
  SB_WANTED=()
  for n in "${ARG_POS[@]}"; do
    iact::validate_name "${n}"
    SB_WANTED+=("${n}")
  done
}

# jq program of sb::cmd_status, for the sandbox.json files lib/status.awk cannot vouch for (hand
# edits, escapes, floats). Inputs: their lines (-R; the first line is the spec). Prints the JSON array
# of this driver's none sandboxes (liveness is their marker files), then a "probe" line per service
# sandbox and a "meta" line per directory whose sandbox.json gave no spec. JSON strings stay
# JSON-quoted, so tabs cannot split lines.
# shellcheck disable=SC2016 # jq program: $vars are jq's
readonly SB_STATUS_JQ='
  def set($lines): reduce ($lines | split("\n")[] | select(. != "")) as $n ({}; .[$n] = true);
  def identity($name):
    if type == "object" and .name == $name and (.driver | type) == "string" and (.service | type) == "string"
       and (.port | type) == "number" and (.spec_hash | type) == "string" then . else empty end;
  set($stopped) as $stopped
  | set($initialized) as $initialized
  | [inputs | select(input_line_number == 1)
     | (input_filename | split("/") | .[-2]) as $name
     | select(($name | length) <= 63)
     | try (fromjson | identity($name)) catch empty] as $specs
  | (reduce $specs[].name as $n ({}; .[$n] = true)) as $reported
  | ([$specs[] | select(.driver == $driver and .service == "none" and ($initialized[.name] // false))
      | ($stopped[.name] | not) as $up
      | {name, environment: $env, driver: $driver, service, port, running: $up, healthy: $up, pid: null,
         spec_hash, spec: ., data_bytes: 0}
      | tojson]
     | join(",")),
    ($specs[] | select(.driver == $driver and .service != "none" and ($initialized[.name] // false))
     | "probe\t\(.name)\t\(.service)\t\(.port)\t\(.spec_hash | tojson)\t\(tojson)"),
    ($specs[] | select(.driver == $driver and ($initialized[.name] // false | not)) | "meta\t\(.name)"),
    ($names | split("\n")[] | select(. != "" and ($reported[.] | not)) | "meta\t\(.)")'

# One JSON array for every sandbox of this driver in the environment. lib/status.awk reads the
# sandbox.json files in the shape iact writes and streams their statuses straight to stdout (bash
# alone spent ~0.3 ms a sandbox, jq ~0.1 ms); jq reads the others; bash probes the sandboxes that
# run a service and closes the array. Without --json, the same array becomes a table.
sb::cmd_status() {
  local n d kind name service port hash spec running healthy side items=0 slow_json result names sep='' du_out awk_bin=awk out
  local dirs=() files=() stopped=() initialized=() lines=() slow=() du_dirs=()
  local -A bytes=()
  if ! ((ARG_JSON)); then
    ARG_JSON=1 sb::verb status | jq -r 'sort_by(.name)[] | "\(.name)\t\(.service)\t127.0.0.1:\(.port)\t\(if .running then (if .healthy then "running" else "unhealthy" end) else "stopped" end)"'
    return
  fi
  sb::locate_wanted
  [[ -d "${SB_ENV_DIR}" ]] || { printf '[]\n'; return 0; }
  # Relative paths from here keep the argument lists short however many sandboxes there are.
  cd "${SB_ENV_DIR}" || iact::die 1 "cannot enter ${SB_ENV_DIR}" "check its permissions" io
  shopt -s nullglob
  if ((${#SB_WANTED[@]} > 0)); then
    for n in "${SB_WANTED[@]}"; do [[ -d "${n}" ]] && dirs+=("${n}"); done
    for d in "${dirs[@]}"; do [[ -f "${d}/sandbox.json" ]] && files+=("${d}/sandbox.json"); done
  else
    # Only directories named like sandboxes: ^[a-z][a-z0-9-]*$.
    dirs=([a-z]*([a-z0-9-])/)
    dirs=("${dirs[@]%/}")
    files=([a-z]*([a-z0-9-])/sandbox.json)
  fi
  # A linked sandbox directory is not iact's: nothing is read or probed through it (create and
  # destroy refuse it by name).
  local real=()
  for d in "${dirs[@]}"; do [[ -L "${d}" ]] || real+=("${d}"); done
  if ((${#real[@]} != ${#dirs[@]})); then
    dirs=("${real[@]}") files=()
    for d in "${dirs[@]}"; do [[ -f "${d}/sandbox.json" ]] && files+=("${d}/sandbox.json"); done
  fi
  stopped=(*/.stopped)
  initialized=(*/.initialized)
  # mawk reads them ~3x faster than gawk; any POSIX awk prints the same.
  command -v mawk >/dev/null 2>&1 && awk_bin=mawk
  printf '['
  # awk writes statuses to the real stdout (fd out) and its notes for bash to fd 3, captured here.
  exec {out}>&1
  side="$({
    printf 'dir %s\n' "${dirs[@]}"
    printf 'stopped %s\n' "${stopped[@]%/.stopped}"
    printf 'initialized %s\n' "${initialized[@]%/.initialized}"
    printf 'file %s\n' "${files[@]%/sandbox.json}"
  } | "${awk_bin}" -v env="${SB_ENV}" -v driver="${SB_DRIVER}" -v side=/dev/fd/3 -f "${SCRIPT_DIR}/lib/status.awk" \
    3>&1 1>&"${out}")" ||
    iact::die 1 "could not read the sandboxes of environment '${SB_ENV}'" "check ${SB_ENV_DIR}/*/sandbox.json" io
  exec {out}>&-
  mapfile -t lines <<<"${side}"
  for n in "${!lines[@]}"; do
    case "${lines[n]}" in
      "items "*) items="${lines[n]#items }" ;;
      slow$'\t'*) slow+=("${lines[n]#slow$'\t'}") ;;
    esac
  done
  ((items > 0)) && sep=','
  if ((${#slow[@]} > 0)); then
    printf -v names '%s\n' "${slow[@]}"
    result="$(jq -nrR --arg env "${SB_ENV}" --arg driver "${SB_DRIVER}" --arg names "${names}" \
      --arg stopped "$(printf '%s\n' "${stopped[@]%/.stopped}")" --arg initialized "$(printf '%s\n' "${initialized[@]%/.initialized}")" \
      "${SB_STATUS_JQ}" "${slow[@]/%//sandbox.json}")" ||
      iact::die 1 "could not read the sandboxes of environment '${SB_ENV}'" "check ${SB_ENV_DIR}/*/sandbox.json" io
    { IFS= read -r slow_json; mapfile -t -O "${#lines[@]}" lines; } <<<"${result}"
    if [[ -n "${slow_json}" ]]; then
      printf '%s%s' "${sep}" "${slow_json}"
      sep=','
    fi
  fi

  # Service sandboxes, and sandboxes known only by .meta: identity checked again before any use.
  local -a p_name=() p_service=() p_port=() p_hash=() p_spec=()
  while IFS=$'\t' read -r kind name service port hash spec; do
    [[ "${kind}" == probe || "${kind}" == meta ]] || continue
    iact::is_name "${name}" || continue
    if [[ "${kind}" == meta ]]; then
      sb::read_meta "${SB_ENV_DIR}/${name}" || continue
      [[ "${META_DRIVER}" == "${SB_DRIVER}" ]] || continue
      service="${META_SERVICE}" port="${META_PORT}" hash='""' spec=null
    fi
    [[ " ${IACT_SERVICES} " == *" ${service} "* && -n "${port}" && "${port}" != *[!0-9]* ]] || continue
    p_name+=("${name}") p_service+=("${service}") p_port+=("${port}") p_hash+=("${hash}") p_spec+=("${spec}")
    [[ "${service}" == none ]] || du_dirs+=("${SB_ENV_DIR}/${name}")
  done < <(((${#lines[@]} > 0)) && printf '%s\n' "${lines[@]}")
  # One du for every service sandbox; a none sandbox holds no data (0).
  if ((${#du_dirs[@]} > 0)); then
    du_out="$(du -sb -- "${du_dirs[@]}" 2>/dev/null || true)"
    while IFS=$'\t' read -r n d; do
      [[ -n "${d}" ]] && bytes["${d}"]="${n}"
    done <<<"${du_out}"
  fi
  # Liveness with builtins only (pidfile + /proc, /dev/tcp).
  local version_json
  for n in "${!p_name[@]}"; do
    SB_NAME="${p_name[n]}" SB_DIR="${SB_ENV_DIR}/${p_name[n]}" SB_SERVICE="${p_service[n]}" SB_PORT="${p_port[n]}"
    sb::spec_tls "${p_spec[n]}"
    running=false healthy=false SB_PID=null version_json='' REPLY=''
    # The major version the data directory was made by: pinning it is not a replace.
    if svc::call data_version && [[ -n "${REPLY}" ]]; then
      version_json=",\"version\":\"${REPLY}\""
    fi
    # An applied sandbox whose data directory was deleted (a spec is known: it was applied) is drift
    # the plan repairs with a replace (docs/plan-json.md "Drift kinds").
    if [[ "${SB_SERVICE}" != none && "${p_spec[n]}" != null ]] && ! svc::data_present; then
      version_json+=',"data_missing":true'
    fi
    if [[ "${SB_SERVICE}" == none ]]; then
      [[ ! -e "${SB_DIR}/.stopped" && -e "${SB_DIR}/.initialized" ]] && running=true healthy=true
    elif sb::probe_pid || sb::server_by_port 2>/dev/null; then
      running=true
      if drv::healthy; then
        healthy=true
        sb::status_login "${p_spec[n]}"
        version_json+="${REPLY}"
      fi
    else
      SB_PID=null
    fi
    sb::print_status "${sep}" "${running}" "${healthy}" "${p_hash[n]}" "${p_spec[n]}" "${bytes[${SB_DIR}]:-0}" "${version_json}"
    sep=','
  done
  printf ']\n'
}

# REPLY = ',"login":true' or ',"login":false' after a real login over 127.0.0.1:SB_PORT with the
# recorded password (secrets/password) and the user and database of SPEC_JSON; '' when it cannot be
# checked (no readable secret, no client). A plan must not say "in sync" while that login fails
# (docs/driver-protocol.md "Status").
sb::status_login() {
  local spec="$1"
  sb::spec_tls "${spec}"
  REPLY=''
  [[ "${spec}" != null && -r "${SB_DIR}/secrets/password" ]] || return 0
  SB_PASSWORD='' SB_USER='' SB_DB='' SB_AUTH=''
  IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true
  [[ "${spec}" =~ \"database\":\"([A-Za-z0-9_]+)\" ]] && SB_DB="${BASH_REMATCH[1]}"
  [[ "${spec}" =~ \"user\":\"([A-Za-z0-9_]+)\" ]] && SB_USER="${BASH_REMATCH[1]}"
  # password: null (redis without requirepass) is checked by a PING, not an AUTH (docs/data.md); only
  # the fields before settings, where a setting named auth cannot match.
  [[ "${spec%%\"settings\":*}" == *'"auth":false'* ]] && SB_AUTH=0
  case "${SB_SERVICE}" in
    postgres)
      # Any installed psql logs in to any version; found once per status call.
      [[ -n "${SVC_BIN:-}" ]] || SVC_BIN="$(svc::pg_bindir '' 2>/dev/null)" || return 0
      ;;
    mysql) command -v mariadb >/dev/null 2>&1 || return 0 ;;
  esac
  if svc::login_works; then REPLY=',"login":true'; else REPLY=',"login":false'; fi
}

# SB_TLS = whether SPEC_JSON (sandbox.json's one line) says tls: true; only the fields before
# settings, where a setting cannot match. Health and login checks speak TLS to such a sandbox.
sb::spec_tls() {
  SB_TLS=false
  [[ "${1%%\"settings\":*}" == *'"tls":true'* ]] && SB_TLS=true
  return 0
}

# One status object of SB_NAME/SB_SERVICE/SB_PORT/SB_PID, the shape of schemas/driver-status.schema.json.
# Args: SEP RUNNING HEALTHY SPEC_HASH_JSON SPEC_JSON DATA_BYTES [EXTRA_FIELDS].
sb::print_status() {
  printf '%s{"name":"%s","environment":"%s","driver":"%s","service":"%s","port":%d,"running":%s,"healthy":%s,"pid":%s,"spec_hash":%s,"spec":%s,"data_bytes":%d%s}' \
    "$1" "${SB_NAME}" "${SB_ENV}" "${SB_DRIVER}" "${SB_SERVICE}" "${SB_PORT}" "$2" "$3" "${SB_PID}" "$4" "$5" "$6" "${7:-}"
}

sb::cmd_list() {
  ARG_JSON=0
  sb::verb status
}

sb::cmd_info() {
  sb::need_args info 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  sb::exists || iact::die 1 "no sandbox '${SB_NAME}' in environment '${SB_ENV}'" "list them: ${SB_SCRIPT} list --env ${SB_ENV}" not-found
  ARG_JSON=1
  sb::verb status | jq --arg dir "${SB_DIR}" '.[0] // error("not a sandbox of this driver") | . + {directory: $dir, activate: ($dir + "/bin/activate")}' ||
    iact::die 1 "sandbox '${SB_NAME}' is not a ${SB_DRIVER} sandbox" "use the script of its driver" not-found
}

sb::cmd_activate() {
  sb::need_args activate 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  sb::exists || iact::die 1 "no sandbox '${SB_NAME}' in environment '${SB_ENV}'" "list them: ${SB_SCRIPT} list --env ${SB_ENV}" not-found
  printf '%s\n' "${SB_DIR}/bin/activate"
  [[ -t 1 ]] && iact::info "run: source ${SB_DIR}/bin/activate"
  return 0
}

sb::cmd_backup() {
  local tmp out started=0 ok=1
  sb::backup_args
  out="${REPLY}"
  sb::load_existing
  sb::lock
  if [[ "${SB_SERVICE}" != none && ! -f "${SB_DIR}/.initialized" ]] && ! sb::is_running; then
    # Its create never finished: no server ever ran with data of the user's, and the config that
    # failed it would fail a start for the backup too (docs/driver-protocol.md "Verbs").
    iact::info "sandbox ${SB_NAME} never finished its create: it holds no data, so no backup is written"
    return 0
  fi
  if [[ "${SB_SERVICE}" != none ]] && ! sb::is_running; then
    # A dump needs the server: a stopped sandbox runs for its backup and is stopped again, so that
    # destroying a stopped sandbox still keeps its data.
    iact::info "sandbox ${SB_NAME} is stopped; starting it for the backup"
    drv::prerequisites
    drv::prepare
    # In a subshell: a server that does not start is a failed backup, whose fix names --no-backup.
    if ! (sb::start_service); then
      drv::stop_processes
      iact::die 1 "backup of '${SB_NAME}' failed: its server did not start" "see ${SB_DIR}/logs/; iact destroy and apply take --no-backup to go on without one" backup-failed
    fi
    started=1
    # Ready for logins, not just listening: redis refuses SAVE while it loads its RDB.
    iact::wait_for 30 svc::login_works || ok=0
  elif [[ "${SB_SERVICE}" != none ]] && ! drv::healthy; then
    # Running but not answering (hung, SIGSTOPped): a dump would wait on it forever.
    iact::die 1 "sandbox '${SB_NAME}' is running but does not answer; no backup can be taken" \
      "restart it (iact apply restarts an unhealthy sandbox), or go on without a backup: --no-backup" backup-failed
  fi
  tmp="$(mktemp "${out}.XXXXXX")"
  chmod 0600 "${tmp}"
  if ((ok)); then svc::backup "${tmp}" || ok=0; fi
  if ((started)); then drv::stop_processes; fi
  sb::backup_done "${ok}" "${tmp}" "${out}" "see ${SB_DIR}/logs/"
}

# backup NAME --out FILE: the sandbox located, and FILE as an absolute path in REPLY (its directory must exist).
sb::backup_args() {
  sb::need_args backup 1 1 'NAME --out FILE'
  [[ -n "${ARG_OUT}" ]] || iact::usage_error "backup needs --out FILE"
  sb::locate "${ARG_POS[0]}"
  REPLY="${ARG_OUT}"
  [[ "${REPLY}" == /* ]] || REPLY="${PWD}/${REPLY}"
  [[ -d "${REPLY%/*}" ]] || iact::die 1 "directory ${REPLY%/*} does not exist" "create it, or pass another --out" io
}

# The end of every driver's backup: the dump moved into place, or removed and the failure named.
sb::backup_done() {
  local ok="$1" tmp="$2" out="$3" where="$4"
  if ((!ok)); then
    rm -f -- "${tmp}"
    iact::die 1 "backup of '${SB_NAME}' failed" "${where}; iact destroy and apply take --no-backup to go on without one" backup-failed
  fi
  mv -f -- "${tmp}" "${out}"
  iact::info "backup of ${SB_NAME} written to ${out}"
}

sb::usage() {
  cat <<EOF
usage: ${SB_SCRIPT} VERB [ARGS] [--env ENVIRONMENT]

${SB_DESCRIPTION}

verbs:
  create NAME SERVICE PORT [--spec FILE]   create or repair; returns once a password login works
  create-many --specs FILE                 many none sandboxes (JSON array of specs) in one call
  update NAME --spec FILE --steps S[,S]    steps set-password, reload, restart, in that order (--restart: add restart)
  start NAME | stop NAME
  destroy NAME [--yes]                     asks on a terminal without --yes
  status [NAME...] [--json]                every sandbox of this driver, one JSON array
  list | info NAME | activate NAME         activate prints the path of bin/activate
  backup NAME --out FILE                   pg_dump / mariadb-dump / RDB copy / tar (mode 0600)
  preflight NAME --spec FILE [--port-is-ours]  would create succeed? (binaries, version, port); changes nothing
  create NAME SERVICE PORT --from SRC[@SNAP]   a branch: the data of sandbox SRC (now, or its snapshot SNAP)
  snapshot NAME [SNAP] | snapshots [NAME...]   take a snapshot (prints its JSON) | list them (JSON array)
  snapshot-delete NAME SNAP | restore NAME SNAP
  storage                                  which storage new data directories get here: overlay, reflink or copy

SERVICE: ${IACT_SERVICES}; PORT: 1024..65535; NAME: ^[a-z][a-z0-9-]{0,62}\$
Sandboxes live in \$IACT_SANDBOX_ROOT/<environment>/<name>/ (default .iact/sandboxes; WASI_SANDBOX_DIR honoured).
Environment: --env > IACT_ENV > ENVIRONMENT > APP_ENV > DJANGO_ENV > development (.env is parsed, never sourced).
Exit codes: 0 ok, 1 failure, 2 usage error.
EOF
}

sb::main() {
  local verb="${1:-}"
  umask 077
  [[ $# -gt 0 ]] && shift
  case "${verb}" in
    -h | --help | help)
      sb::usage
      return 0
      ;;
    '') iact::usage_error "no verb given" "${SB_SCRIPT} --help" ;;
  esac
  sb::parse_args "$@"
  sb::enter_project_root
  case "${verb}" in
    create | update | start | stop | destroy | status | list | info | activate | backup | preflight | create-many) sb::verb "${verb}" ;;
    snapshot | snapshots | snapshot-delete | restore | storage) sb::verb "${verb}" ;;
    *)
      declare -F "drv::cmd_${verb}" >/dev/null || iact::usage_error "unknown verb '${verb}'" "${SB_SCRIPT} --help"
      "drv::cmd_${verb}"
      ;;
  esac
}

# Runs VERB: the driver's drv::cmd_VERB when it replaces one whose shared form runs a local process
# (the docker driver, docs/driver-protocol.md), else sb::cmd_VERB.
sb::verb() { sb::hook "cmd_${1//-/_}"; }

# Runs drv::FN when the driver defines it, else the shared sb::FN.
sb::hook() {
  if declare -F "drv::$1" >/dev/null; then "drv::$1"; else "sb::$1"; fi
}

# The services and their processes, which every verb above drives.
# shellcheck source=services.sh
source "${BASH_SOURCE[0]%/*}/services.sh"
# shellcheck source=process.sh
source "${BASH_SOURCE[0]%/*}/process.sh"
