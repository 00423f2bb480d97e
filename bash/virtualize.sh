#!/usr/bin/env bash
# iact docker driver (SPEC "Drivers"): one container per sandbox, labelled with environment, name and
# spec hash; a named volume for the data; the port published on 127.0.0.1 only.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/lib/common.sh"
# shellcheck source=lib/docker.sh
source "${SCRIPT_DIR}/lib/docker.sh"

readonly DB_IDENT_RE='^[A-Za-z_][A-Za-z0-9_]{0,62}$'
readonly MEMORY_RE='^[0-9]+([kKmMgG]([iI]?[bB])?)?$'
readonly IMAGE_RE='^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$'
readonly SETTING_KEY_RE='^[A-Za-z_][A-Za-z0-9_.-]{0,127}$'
readonly READY_TIMEOUT="${IACT_DOCKER_READY_TIMEOUT:-180}"

usage() {
  cat >&2 <<'EOF'
usage: bash/virtualize.sh VERB [ARGS] [--env NAME]
  create NAME SERVICE PORT [--spec FILE]   idempotent; returns once a password login works
  update NAME --spec FILE [--restart]      password in place; other changes recreate the container (volume kept)
  start NAME | stop NAME
  destroy NAME --yes                       container, volume and sandbox directory
  status [NAME...] --json                  JSON array of every docker sandbox of the environment
  list | info NAME | activate NAME
  backup NAME --out FILE                   pg_dump / mariadb-dump / RDB snapshot, mode 0600
  preflight NAME --spec FILE [--port-is-ours]  would create succeed? (engine, image, port); changes nothing
  check                                    exit 0 when a docker engine is reachable
Services: postgres mysql redis none. Images: scripts/docker-images.sh; engine: scripts/docker-engine.sh.
EOF
}

# ---------------------------------------------------------------- sandbox directory and spec

sandbox_dir() { printf '%s/%s/%s' "${SANDBOX_ROOT}" "${ENV_NAME}" "$1"; }

# Loads sandbox.json of DIR into the SB_* globals, defaults filled in.
load_spec() {
  local dir="$1" file="$1/sandbox.json"
  local -a fields inputs=("$1/sandbox.json")
  [[ -f "${file}" ]] || return 1
  # sandbox.json holds the secret settings' hashes; their values are in secrets/settings.json.
  [[ -f "${dir}/secrets/settings.json" ]] && inputs+=("${dir}/secrets/settings.json")
  mapfile -d '' -t fields < <(jq -j -n 'input as $spec | ((try input catch {}) // {}) as $secret | $spec
      | [.name, .service, (.port|tostring), (.version // ""), (.database // ""),
      (.user // ""), (.memory // ""), (.image // ""), (.spec_hash // ""),
      ((.settings // {}) + $secret | to_entries | map("\(.key)=\(.value|tostring)") | join("\n"))] | map(. + "\u0000") | add' "${inputs[@]}") ||
    iact::die 1 "cannot read ${file}" "destroy and recreate the sandbox"
  ((${#fields[@]} == 10)) || iact::die 1 "cannot read ${file}" "destroy and recreate the sandbox"
  SB_NAME="${fields[0]}" SB_SERVICE="${fields[1]}" SB_PORT="${fields[2]}" SB_VERSION="${fields[3]}"
  SB_DATABASE="${fields[4]}" SB_USER="${fields[5]}" SB_MEMORY="${fields[6]}" SB_IMAGE="${fields[7]}"
  SB_SPEC_HASH="${fields[8]}" SB_SETTINGS="${fields[9]}"
  [[ -n "${SB_DATABASE}" ]] || SB_DATABASE="${SB_NAME//-/_}"
  [[ -n "${SB_USER}" ]] || SB_USER="${SB_NAME//-/_}"
  [[ -n "${SB_IMAGE}" ]] || SB_IMAGE="$(iact::docker_default_image "${SB_SERVICE}" "${SB_VERSION}")"
}

# Every field that reaches docker or a service is checked here again, whatever the TS side did.
validate_spec_fields() {
  local database="$1" user="$2" memory="$3" image="$4" version="$5" settings="$6" key value
  [[ -z "${database}" || "${database}" =~ ${DB_IDENT_RE} ]] ||
    iact::usage_error "invalid database name '${database}'" "use letters, digits and '_', starting with a letter"
  [[ -z "${user}" || "${user}" =~ ${DB_IDENT_RE} ]] ||
    iact::usage_error "invalid user name '${user}'" "use letters, digits and '_', starting with a letter"
  [[ -z "${memory}" || "${memory}" =~ ${MEMORY_RE} ]] ||
    iact::usage_error "invalid memory '${memory}'" "use a size such as 512M or 1G"
  [[ -z "${image}" || "${image}" =~ ${IMAGE_RE} ]] ||
    iact::usage_error "invalid image '${image}'" "use a docker image reference such as postgres:15"
  [[ -z "${version}" || "${version}" =~ ^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$ ]] ||
    iact::usage_error "invalid version '${version}'" "use a version such as 15 or 10.11"
  while IFS= read -r key; do
    [[ -n "${key}" ]] || continue
    value="${key#*=}"
    key="${key%%=*}"
    [[ "${key}" =~ ${SETTING_KEY_RE} ]] || iact::usage_error "invalid setting name '${key}'" "use letters, digits, '_', '.' and '-'"
    [[ "${value}" != *$'\r'* ]] || iact::usage_error "invalid value for setting '${key}'" "use a single-line value"
  done <<<"${settings}"
}

# The spec of `create`/`update`: --spec FILE checked against NAME/SERVICE/PORT, or the seed's
# convention (no spec: database and user named after the sandbox, a random password kept across runs).
# Sets SPEC_JSON (without password and secret settings), SPEC_PASSWORD and SPEC_SECRET_SETTINGS. FILE
# "-" is standard input (iact passes specs that way, so a secret is never in a file outside the sandbox).
read_spec() {
  local name="$1" service="$2" port="$3" file="$4" text
  local -a f
  SPEC_PASSWORD=""
  SPEC_SECRET_SETTINGS="{}"
  if [[ -z "${file}" ]]; then
    SPEC_JSON="$(jq -cn --arg name "${name}" --arg env "${ENV_NAME}" --arg service "${service}" --argjson port "$((10#${port}))" \
      '{name: $name, environment: $env, driver: "docker", service: $service, port: $port, settings: {}}')"
    return 0
  fi
  if [[ "${file}" == - ]]; then
    text="$(cat)"
  else
    [[ -f "${file}" && -r "${file}" ]] || iact::usage_error "spec file '${file}' is not readable" "pass the JSON written by iact (DriverSpec)"
    text="$(<"${file}")"
  fi
  mapfile -d '' -t f < <(jq -j 'if type != "object" then error("not an object") else . end
      | [(.name // ""), (.environment // ""), (.service // ""), (.port // "" | tostring), (.driver // "docker"),
         (.password // ""), (.database // ""), (.user // ""), (.memory // ""), (.image // ""), (.version // "" | tostring),
         ((.settings // {}) + (.secret_settings // {}) | if type != "object" then error("settings is not an object") else . end
            | to_entries | map("\(.key)=\(.value | if type == "object" or type == "array" then error("setting \(.key) is not a scalar") else tostring end
              | if test("[\n\r\u0000]") then error("setting value with a line break") else . end)") | join("\n"))]
      | map(tostring + "\u0000") | add' <<<"${text}" 2>/dev/null) ||
    iact::usage_error "spec file '${file}' is not a valid DriverSpec JSON object" "pass the JSON written by iact (DriverSpec)"
  ((${#f[@]} == 12)) || iact::usage_error "spec file '${file}' is not a valid DriverSpec JSON object" "pass the JSON written by iact"
  [[ "${f[0]}" == "${name}" ]] || iact::usage_error "spec name '${f[0]}' does not match '${name}'" "pass the spec of sandbox ${name}"
  [[ -z "${f[1]}" || "${f[1]}" == "${ENV_NAME}" ]] ||
    iact::usage_error "spec environment '${f[1]}' does not match '${ENV_NAME}'" "pass --env ${f[1]}"
  [[ -z "${service}" || "${f[2]}" == "${service}" ]] || iact::usage_error "spec service '${f[2]}' does not match '${service}'" "pass the same service"
  [[ -z "${port}" || "${f[3]}" == "${port}" ]] || iact::usage_error "spec port '${f[3]}' does not match '${port}'" "pass the same port"
  [[ "${f[4]}" == docker ]] || iact::usage_error "spec driver '${f[4]}' is not docker" "use the script of driver ${f[4]}"
  iact::validate_service "${f[2]}"
  iact::validate_port "${f[3]}"
  [[ "${f[5]}" != *$'\n'* && "${f[5]}" != *$'\r'* ]] || iact::usage_error "the password contains a line break" "use a single-line password"
  validate_spec_fields "${f[6]}" "${f[7]}" "${f[8]}" "${f[9]}" "${f[10]}" "${f[11]}"
  SPEC_PASSWORD="${f[5]}"
  SPEC_JSON="$(jq -c --arg env "${ENV_NAME}" 'del(.password, .secret_settings) | .environment = $env | .driver = "docker" | .settings = (.settings // {})' <<<"${text}")"
  SPEC_SECRET_SETTINGS="$(jq -c '.secret_settings // {}' <<<"${text}")"
}

# sandbox.json as the other drivers write it: database/user defaults for SQL services, and a
# password hash (src/drivers/spec.ts's formula) and spec hash when the spec came without them.
observed_spec() {
  local name="$1" password="$2" json hash=""
  [[ "${SPEC_JSON}" == *'"service":"none"'* ]] ||
    hash="sha256:$(printf 'iact-password\0%s\0%s\0%s' "${ENV_NAME}" "${name}" "${password}" | sha256sum | cut -c1-16)"
  json="$(jq -c --arg ph "${hash}" '((.name | gsub("-"; "_")) as $id
      | if .service == "postgres" or .service == "mysql" then .database = (.database // $id) | .user = (.user // $id) else . end)
      | if (.password_hash // "") == "" and $ph != "" then .password_hash = $ph else . end' <<<"${SPEC_JSON}")"
  if [[ "${json}" != *'"spec_hash":"'?* || "${json}" == *'"spec_hash":""'* ]]; then
    hash="sha256:$(jq -c -S 'del(.spec_hash)' <<<"${json}" | tr -d '\n' | sha256sum | cut -c1-32)"
    if [[ "${json}" == *'"spec_hash":""'* ]]; then
      json="${json/\"spec_hash\":\"\"/\"spec_hash\":\"${hash}\"}"
    else
      json="${json%\}},\"spec_hash\":\"${hash}\"}"
    fi
  fi
  printf '%s' "${json}"
}

random_password() {
  head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}

# Sandbox directory (0700), sandbox.json (0600), the password apart (0600), bin/activate.
write_sandbox_files() {
  local name="$1" dir password
  dir="$(sandbox_dir "${name}")"
  mkdir -p "${SANDBOX_ROOT}/${ENV_NAME}"
  mkdir -p "${dir}/secrets" "${dir}/bin" "${dir}/data" "${dir}/logs"
  chmod 0700 "${dir}" "${dir}/secrets"
  password="${SPEC_PASSWORD}"
  if [[ -z "${password}" && -s "${dir}/secrets/password" ]]; then
    password="$(<"${dir}/secrets/password")"
  fi
  [[ -n "${password}" ]] || password="$(random_password)"
  # The container mounts the directory, so a renamed-in file is what it reads next.
  iact::write_secret_file "${dir}/secrets/password" "${password}"
  iact::write_secret_file "${dir}/sandbox.json" "$(observed_spec "${name}" "${password}")"$'\n'
  if [[ "${SPEC_SECRET_SETTINGS}" == "{}" ]]; then
    rm -f -- "${dir}/secrets/settings.json"
  else
    iact::write_secret_file "${dir}/secrets/settings.json" "${SPEC_SECRET_SETTINGS}"$'\n'
  fi
  load_spec "${dir}"
  write_activate "${dir}"
}

# shellcheck disable=SC2016 # the activate script expands its variables when sourced, not now
write_activate() {
  local dir="$1" q_dir q_name
  q_dir="$(printf '%q' "${dir}")"
  q_name="$(printf '%q' "${SB_NAME}")"
  {
    printf '# Source this file (like a Python venv): exports the connection of docker sandbox %s; `deactivate` undoes it.\n' "${SB_NAME}"
    printf '_iact_vars="IACT_SANDBOX IACT_SANDBOX_DIR DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD REDIS_HOST REDIS_PORT REDIS_PASSWORD PS1"\n'
    cat <<'EOF'
deactivate() {
  local v saved
  for v in ${_iact_vars}; do
    saved="_IACT_OLD_${v}"
    if [[ -n "${!saved+x}" ]]; then export "${v}=${!saved}"; unset "${saved}"; else unset "${v}"; fi
  done
  [[ -n "${_IACT_OLD_PS1_UNSET:-}" ]] && unset PS1 _IACT_OLD_PS1_UNSET
  unset _iact_vars
  unset -f deactivate
}
for _iact_v in ${_iact_vars}; do
  if [[ -n "${!_iact_v+x}" ]]; then printf -v "_IACT_OLD_${_iact_v}" '%s' "${!_iact_v}"; fi
done
unset _iact_v
EOF
    printf 'export IACT_SANDBOX=%s IACT_SANDBOX_DIR=%s\n' "${q_name}" "${q_dir}"
    case "${SB_SERVICE}" in
      postgres | mysql)
        printf 'export DB_HOST=127.0.0.1 DB_PORT=%s DB_NAME=%q DB_USER=%q\n' "${SB_PORT}" "${SB_DATABASE}" "${SB_USER}"
        printf 'DB_PASSWORD="$(cat %s/secrets/password)"; export DB_PASSWORD\n' "${q_dir}"
        ;;
      redis)
        printf 'export REDIS_HOST=127.0.0.1 REDIS_PORT=%s\n' "${SB_PORT}"
        printf 'REDIS_PASSWORD="$(cat %s/secrets/password)"; export REDIS_PASSWORD\n' "${q_dir}"
        ;;
    esac
    printf 'PS1="(%s) ${PS1:-}"\n' "${SB_NAME}"
  } >"${dir}/bin/activate.tmp"
  chmod 0600 "${dir}/bin/activate.tmp"
  mv -f "${dir}/bin/activate.tmp" "${dir}/bin/activate"
}

# ---------------------------------------------------------------- containers

# Hash of what shapes the container (not the password: that changes in place).
container_config_hash() {
  local settings_hash
  settings_hash="$(printf '%s' "${SB_SETTINGS}" | sha256sum | cut -c1-16)"
  printf '%s\n' "${SB_SERVICE}" "${SB_PORT}" "${SB_VERSION}" "${SB_DATABASE}" "${SB_USER}" "${SB_MEMORY}" "${SB_IMAGE}" "${settings_hash}" |
    sha256sum | cut -c1-32
}

# "state<TAB>config hash<TAB>port" of the sandbox's container, or nothing when there is none.
# Doubles as the engine check (one docker call instead of two): exits 1 when no engine answers.
container_state() {
  local out
  iact::docker_require_cli
  iact::docker_select_engine
  if out="$(docker container inspect --format '{{.State.Status}}{{"\t"}}{{index .Config.Labels "iact.config_hash"}}{{"\t"}}{{index .Config.Labels "iact.port"}}' "$1" 2>&1)"; then
    printf '%s' "${out}"
    return 0
  fi
  [[ "${out}" == *"No such"* ]] && return 0
  [[ "${out}" == *"Cannot connect"* || "${out}" == *"connect:"* || "${out}" == *"daemon running"* ]] && iact::docker_no_engine
  iact::die 1 "docker container inspect $1 failed: ${out}" "scripts/docker-engine.sh status"
}

require_image() {
  local image="$1"
  docker image inspect --format '{{.Id}}' "${image}" >/dev/null 2>&1 && return 0
  if [[ "${image}" == iact/* ]]; then
    iact::die 1 "docker image ${image} is not built" "run scripts/docker-images.sh (builds iact/postgres:15, iact/mariadb:10.11, iact/redis:7 from this machine's binaries)"
  fi
  iact::die 1 "docker image ${image} is not on this engine" "docker pull ${image} (or docker load it), then retry"
}

run_container() {
  local name="$1" dir container volume cport data_path setting key value out
  local -a args
  dir="$(sandbox_dir "${name}")"
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  volume="$(iact::docker_volume_name "${ENV_NAME}" "${name}")"
  cport="$(iact::docker_service_port "${SB_SERVICE}")"
  data_path="$(iact::docker_data_path "${SB_SERVICE}")"
  [[ "${dir}" != *,* && "${dir}" != *:* ]] || iact::die 1 "sandbox directory ${dir} contains ',' or ':', which docker mounts cannot express" "set IACT_SANDBOX_ROOT to a plain path"
  # Idempotent: an existing volume (the data of a recreated container) is returned as it is.
  docker volume create --label "iact.environment=${ENV_NAME}" --label "iact.name=${name}" --label iact.driver=docker "${volume}" >/dev/null
  # --pull never: no registry is reachable here, and a missing image must not wait for one.
  args=(run -d --pull never --name "${container}" --init --restart no
    --label "iact.environment=${ENV_NAME}" --label "iact.name=${name}" --label iact.driver=docker
    --label "iact.spec_hash=${SB_SPEC_HASH}" --label "iact.service=${SB_SERVICE}" --label "iact.port=${SB_PORT}"
    --label "iact.config_hash=$(container_config_hash)"
    -p "127.0.0.1:${SB_PORT}:${cport}"
    --mount "type=volume,source=${volume},target=${data_path}"
    --mount "type=bind,source=${dir}/secrets,target=${IACT_SECRETS_MOUNT},readonly")
  [[ -n "${SB_MEMORY}" ]] && args+=(--memory "${SB_MEMORY}")
  # The password travels as a file path, never as a value: docker's command line shows in `ps`.
  case "${SB_SERVICE}" in
    postgres)
      args+=(--stop-signal SIGINT -e "POSTGRES_USER=${SB_USER}" -e "POSTGRES_DB=${SB_DATABASE}"
        -e "POSTGRES_PASSWORD_FILE=${IACT_SECRETS_MOUNT}/password")
      ;;
    mysql)
      args+=(-e "MARIADB_USER=${SB_USER}" -e "MARIADB_DATABASE=${SB_DATABASE}"
        -e "MARIADB_PASSWORD_FILE=${IACT_SECRETS_MOUNT}/password" -e MARIADB_RANDOM_ROOT_PASSWORD=1)
      ;;
    redis) args+=(-e "REDIS_PASSWORD_FILE=${IACT_SECRETS_MOUNT}/password") ;;
  esac
  args+=("${SB_IMAGE}")
  while IFS= read -r setting; do
    [[ -n "${setting}" ]] || continue
    key="${setting%%=*}"
    value="${setting#*=}"
    case "${SB_SERVICE}" in
      postgres) args+=(-c "${key}=${value}") ;;
      mysql) args+=("--${key}=${value}") ;;
      redis)
        [[ "${value}" == true ]] && value=yes
        [[ "${value}" == false ]] && value=no
        args+=("--${key}" "${value}")
        ;;
    esac
  done <<<"${SB_SETTINGS}"
  if ! out="$(docker "${args[@]}" 2>&1)"; then
    require_image "${SB_IMAGE}"
    iact::die 1 "docker run for sandbox ${name} failed: ${out}" "read the docker error above"
  fi
}

remove_container() {
  docker rm -f "$1" >/dev/null 2>&1 || true
}

# A real login from the host with the sandbox's password (clients read it from the environment,
# never from argv); in-container check when the host has no client.
login_ok() {
  local name="$1" password="$2" container="$3" psql out
  case "${SB_SERVICE}" in
    postgres)
      psql="$(iact::docker_psql)"
      if [[ -n "${psql}" ]]; then
        out="$(PGPASSWORD="${password}" PGCONNECT_TIMEOUT=3 "${psql}" -X -w -h 127.0.0.1 -p "${SB_PORT}" -U "${SB_USER}" -d "${SB_DATABASE}" -tAc 'SELECT 1' 2>/dev/null)" || return 1
        [[ "${out}" == 1 ]]
      else
        iact::service_answers "${SB_PORT}" postgres && docker exec "${container}" iact-service ready >/dev/null 2>&1
      fi
      ;;
    mysql)
      if command -v mariadb >/dev/null 2>&1; then
        out="$(MYSQL_PWD="${password}" mariadb --no-defaults --connect-timeout=3 -h 127.0.0.1 -P "${SB_PORT}" -u "${SB_USER}" -N -B -e 'SELECT 1' "${SB_DATABASE}" 2>/dev/null)" || return 1
        [[ "${out}" == 1 ]]
      else
        iact::service_answers "${SB_PORT}" mysql && docker exec "${container}" iact-service ready >/dev/null 2>&1
      fi
      ;;
    redis)
      if command -v redis-cli >/dev/null 2>&1; then
        out="$(REDISCLI_AUTH="${password}" timeout 3 redis-cli --no-auth-warning -h 127.0.0.1 -p "${SB_PORT}" PING 2>/dev/null)" || return 1
        [[ "${out}" == PONG ]]
      else
        iact::service_answers "${SB_PORT}" redis && docker exec "${container}" iact-service ready >/dev/null 2>&1
      fi
      ;;
    none) return 0 ;;
  esac
}

# Polls a login every 100 ms; gives up early when the container has exited, with its log tail.
wait_ready() {
  local name="$1" container password deadline next_check state
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  password="$(<"$(sandbox_dir "${name}")/secrets/password")"
  deadline=$((SECONDS + READY_TIMEOUT))
  next_check=$((SECONDS + 1))
  until login_ok "${name}" "${password}" "${container}"; do
    if ((SECONDS >= next_check)); then
      next_check=$((SECONDS + 1))
      state="$(docker container inspect --format '{{.State.Status}}' "${container}" 2>/dev/null || printf 'missing')"
      if [[ "${state}" != running && "${state}" != created && "${state}" != restarting ]]; then
        docker logs --tail 15 "${container}" 2>&1 | sed 's/^/  container: /' >&2 || true
        iact::die 1 "sandbox ${name}: container ${container} is ${state} before accepting logins" "read: docker logs ${container}"
      fi
    fi
    if ((SECONDS >= deadline)); then
      docker logs --tail 15 "${container}" 2>&1 | sed 's/^/  container: /' >&2 || true
      iact::die 1 "sandbox ${name}: no login on 127.0.0.1:${SB_PORT} after ${READY_TIMEOUT}s" "read: docker logs ${container}"
    fi
    sleep 0.1
  done
}

# Brings the container in line with sandbox.json: created if missing, recreated (volume kept) when
# its configuration changed or RECREATE=1, started when stopped; then waits for a real login.
converge_container() {
  local name="$1" recreate="${2:-0}" container info state="" hash="" port=""
  [[ "${SB_SERVICE}" == none ]] && return 0
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  if (($# >= 3)); then info="$3"; else info="$(container_state "${container}")"; fi
  [[ -z "${info}" ]] || IFS=$'\t' read -r state hash port <<<"${info}"
  if [[ -n "${info}" && ("${recreate}" == 1 || "${hash}" != "$(container_config_hash)") ]]; then
    iact::info "sandbox ${name}: recreating container ${container} (data volume kept)"
    remove_container "${container}"
    info=""
  fi
  if [[ -z "${info}" ]]; then
    # The port is ours once our container is gone; anything else on it is a conflict.
    if iact::port_open "${SB_PORT}"; then
      iact::die 1 "port ${SB_PORT} is already in use on 127.0.0.1" "choose another port for sandbox ${name}, or stop what listens there"
    fi
    run_container "${name}"
  elif [[ "${state}" != running ]]; then
    iact::port_open "${SB_PORT}" && iact::die 1 "port ${SB_PORT} is already in use on 127.0.0.1" "stop what listens there, then retry"
    docker start "${container}" >/dev/null
  fi
  wait_ready "${name}"
}

# ---------------------------------------------------------------- verbs

# Would create succeed? The engine, the image, a free port; changes nothing. apply asks before a
# replace deletes anything. port_is_ours=1: the port belongs to the sandbox being replaced.
cmd_preflight() {
  local name="$1" spec_file="$2" port_is_ours="$3" service port image version
  iact::validate_name "${name}"
  [[ -n "${spec_file}" ]] || iact::usage_error "preflight needs --spec FILE" "bash/virtualize.sh preflight ${name} --spec FILE"
  command -v jq >/dev/null 2>&1 || iact::die 1 "jq is not installed" "apt-get install -y jq"
  read_spec "${name}" "" "" "${spec_file}"
  # Unit-separated: a tab is IFS whitespace, and two in a row (an empty image) would merge.
  IFS=$'\x1f' read -r service port image version < <(jq -r '[.service, (.port | tostring), (.image // ""), (.version // "" | tostring)] | join("\u001f")' <<<"${SPEC_JSON}")
  if [[ "${service}" != none ]]; then
    iact::docker_require_engine
    require_image "${image:-$(iact::docker_default_image "${service}" "${version}")}"
    if ((!port_is_ours)) && iact::port_open "${port}"; then
      iact::die 1 "port ${port} is already in use on 127.0.0.1" "choose another port for sandbox ${name}, or stop what listens there"
    fi
  fi
  iact::info "sandbox ${name} can be created"
}

cmd_create() {
  local name="$1" service="$2" port="$3" spec_file="$4" dir existing_service info
  iact::validate_name "${name}"
  iact::validate_service "${service}"
  iact::validate_port "${port}"
  command -v jq >/dev/null 2>&1 || iact::die 1 "jq is not installed" "apt-get install -y jq"
  read_spec "${name}" "${service}" "${port}" "${spec_file}"
  dir="$(sandbox_dir "${name}")"
  if [[ -f "${dir}/sandbox.json" ]]; then
    existing_service="$(jq -r '.service // ""' "${dir}/sandbox.json" 2>/dev/null || true)"
    [[ -z "${existing_service}" || "${existing_service}" == "${service}" ]] ||
      iact::die 1 "sandbox ${name} already exists with service ${existing_service}" "destroy it first: bash/virtualize.sh destroy ${name} --yes"
  fi
  if [[ "${service}" == none ]]; then
    write_sandbox_files "${name}"
  else
    info="$(container_state "$(iact::docker_container_name "${ENV_NAME}" "${name}")")"
    # Before anything is written: the port must be free unless our own running container publishes it.
    if [[ "${info}" != running$'\t'*$'\t'"$((10#${port}))" ]] && iact::port_open "${port}"; then
      iact::die 1 "port ${port} is already in use on 127.0.0.1" "choose another port for sandbox ${name}, or stop what listens there"
    fi
    write_sandbox_files "${name}"
    converge_container "${name}" 0 "${info}"
  fi
  if [[ "${service}" == none ]]; then
    iact::info "sandbox ${name} (none, docker) is ready: source $(sandbox_dir "${name}")/bin/activate"
  else
    iact::info "sandbox ${name} (${service}, docker) is ready on 127.0.0.1:${port}"
  fi
}

# What an update rewrites: kept aside until it has worked, put back if it fails.
UPDATE_FILES=(sandbox.json secrets/password secrets/settings.json bin/activate)
UPDATE_SAVED=''
UPDATE_NAME=''
UPDATE_WAS_RUNNING=0

update_snapshot() {
  local dir="$1" f
  UPDATE_SAVED="${dir}/.update-saved"
  rm -rf -- "${UPDATE_SAVED}"
  (umask 077 && mkdir -p -- "${UPDATE_SAVED}/secrets" "${UPDATE_SAVED}/bin")
  for f in "${UPDATE_FILES[@]}"; do
    if [[ -f "${dir}/${f}" ]]; then cp -p -- "${dir}/${f}" "${UPDATE_SAVED}/${f}"; fi
  done
  trap 'update_rollback' EXIT
}

# EXIT trap of a failed update: the files as last applied, and the container converged back to them
# (by a fresh process, which reads them), so the next plan still shows the change.
update_rollback() {
  local rc=$? f dir
  trap - EXIT
  if ((rc != 0)) && [[ -d "${UPDATE_SAVED}" ]]; then
    dir="${UPDATE_SAVED%/.update-saved}"
    for f in "${UPDATE_FILES[@]}"; do
      if [[ -f "${UPDATE_SAVED}/${f}" ]]; then mv -f -- "${UPDATE_SAVED}/${f}" "${dir}/${f}"; fi
    done
    rm -rf -- "${UPDATE_SAVED}"
    iact::warn "the update of sandbox ${UPDATE_NAME} failed; it is back at its last applied spec"
    if ((UPDATE_WAS_RUNNING)); then
      "${BASH}" "${SCRIPT_DIR}/virtualize.sh" start "${UPDATE_NAME}" --env "${ENV_NAME}" >/dev/null ||
        iact::warn "sandbox ${UPDATE_NAME} did not start again with its last applied spec"
    fi
  fi
  exit "${rc}"
}

update_done() {
  trap - EXIT
  rm -rf -- "${UPDATE_SAVED}"
}

cmd_update() {
  local name="$1" spec_file="$2" restart="$3" dir old_service container info="" state="" hash="" port=""
  iact::validate_name "${name}"
  [[ -n "${spec_file}" ]] || iact::usage_error "update needs --spec FILE" "bash/virtualize.sh update ${name} --spec FILE"
  command -v jq >/dev/null 2>&1 || iact::die 1 "jq is not installed" "apt-get install -y jq"
  dir="$(sandbox_dir "${name}")"
  [[ -f "${dir}/sandbox.json" ]] || iact::die 1 "sandbox ${name} does not exist in ${ENV_NAME}" "create it: bash/virtualize.sh create ${name} SERVICE PORT --spec FILE"
  old_service="$(jq -r '.service' "${dir}/sandbox.json")"
  read_spec "${name}" "" "" "${spec_file}"
  [[ "$(jq -r '.service' <<<"${SPEC_JSON}")" == "${old_service}" ]] ||
    iact::usage_error "update cannot change the service of ${name}" "replace it: destroy, then create"
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  [[ "${old_service}" == none ]] || info="$(container_state "${container}")"
  UPDATE_NAME="${name}"
  [[ "${info}" == running$'\t'* ]] && UPDATE_WAS_RUNNING=1
  [[ "${old_service}" == none ]] || update_snapshot "${dir}"
  write_sandbox_files "${name}"
  [[ "${SB_SERVICE}" == none ]] && return 0
  [[ -z "${info}" ]] || IFS=$'\t' read -r state hash port <<<"${info}"
  if [[ "${restart}" == 0 && -n "${info}" && "${hash}" == "$(container_config_hash)" && "${SB_IMAGE}" == iact/* ]]; then
    if [[ "${state}" == running ]]; then
      # Same container: only the password can differ; set it live (ALTER ROLE / ALTER USER / CONFIG SET).
      docker exec "${container}" iact-service password >/dev/null ||
        iact::die 1 "sandbox ${name}: setting the password in the running container failed" "retry with --restart"
      wait_ready "${name}"
    fi
    # A stopped container takes the new password from the secret file when it starts.
    update_done
    iact::info "sandbox ${name} has been updated"
    return 0
  fi
  # Images other than iact/* set passwords only on first start: recreate them too.
  converge_container "${name}" 1 "${info}"
  update_done
  iact::info "sandbox ${name} has been updated (container recreated)"
}

# Sandbox NAME must exist: its directory or at least its container.
require_sandbox() {
  local name="$1" dir
  dir="$(sandbox_dir "${name}")"
  load_spec "${dir}" 2>/dev/null ||
    iact::die 1 "sandbox ${name} does not exist in ${ENV_NAME} (no ${dir}/sandbox.json)" "create it: bash/virtualize.sh create ${name} SERVICE PORT"
}

cmd_start() {
  local name="$1"
  iact::validate_name "${name}"
  require_sandbox "${name}"
  if [[ "${SB_SERVICE}" == none ]]; then
    rm -f "$(sandbox_dir "${name}")/.stopped"
    return 0
  fi
  converge_container "${name}"
  iact::info "sandbox ${name} has been started"
}

cmd_stop() {
  local name="$1" container state
  iact::validate_name "${name}"
  require_sandbox "${name}"
  if [[ "${SB_SERVICE}" == none ]]; then
    # No process: a marker, as the lightweight driver does, so status and plans see "stopped".
    : >"$(sandbox_dir "${name}")/.stopped"
    return 0
  fi
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  state="$(container_state "${container}")"
  if [[ -z "${state}" || "${state%%$'\t'*}" != running ]]; then
    iact::info "sandbox ${name} is already stopped"
    return 0
  fi
  # docker stop returns once the container's init has exited: no reparented daemon is left to reap.
  docker stop --time 30 "${container}" >/dev/null
  iact::info "sandbox ${name} has been stopped"
}

cmd_destroy() {
  local name="$1" yes="$2" dir container volume answer has_container=0 has_volume=0
  iact::validate_name "${name}"
  dir="$(sandbox_dir "${name}")"
  container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
  volume="$(iact::docker_volume_name "${ENV_NAME}" "${name}")"
  if command -v docker >/dev/null 2>&1; then
    iact::docker_select_engine
    if docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
      docker container inspect "${container}" >/dev/null 2>&1 && has_container=1
      docker volume inspect "${volume}" >/dev/null 2>&1 && has_volume=1
    elif [[ -f "${dir}/sandbox.json" && "$(jq -r '.service' "${dir}/sandbox.json" 2>/dev/null)" != none ]]; then
      iact::docker_no_engine
    fi
  fi
  if [[ ! -d "${dir}" && "${has_container}" == 0 && "${has_volume}" == 0 ]]; then
    iact::info "sandbox ${name} does not exist in ${ENV_NAME}; nothing to destroy"
    return 0
  fi
  if [[ "${yes}" == 0 ]]; then
    [[ -t 0 ]] || iact::usage_error "destroy needs --yes when not run on a terminal" "bash/virtualize.sh destroy ${name} --yes"
    printf 'Destroy docker sandbox %s in %s (container, volume and data)? [y/N] ' "${name}" "${ENV_NAME}" >&2
    read -r answer || answer=""
    [[ "${answer}" == y || "${answer}" == yes ]] || iact::die 1 "destroy of ${name} cancelled" ""
  fi
  ((has_container)) && docker rm -f -v "${container}" >/dev/null
  ((has_volume)) && docker volume rm -f "${volume}" >/dev/null
  rm -rf -- "${dir}"
  iact::info "sandbox ${name} has been destroyed"
}

# One `docker ps` and one `docker inspect` for every sandbox of the environment, however many.
# Always JSON; --json is accepted for the common calling convention.
cmd_status() {
  local -a wanted=("$@") names=() mounts=()
  local name dir spec_lines line ids inspect container_lines du_lines svc port hash mount state_line pid_line
  local -A spec_of=() service_of=() port_of=() hash_of=() state_of=() pid_of=() mount_of=() bytes_of=()
  for name in "${wanted[@]}"; do iact::validate_name "${name}"; done
  command -v jq >/dev/null 2>&1 || iact::die 1 "jq is not installed" "apt-get install -y jq"
  iact::docker_require_cli
  iact::docker_select_engine

  # sandbox.json of this driver's sandboxes, read by a single jq.
  local -a files=()
  if [[ -d "${SANDBOX_ROOT}/${ENV_NAME}" ]]; then
    for dir in "${SANDBOX_ROOT}/${ENV_NAME}"/*/; do
      [[ -f "${dir}sandbox.json" ]] && files+=("${dir}sandbox.json")
    done
  fi
  if ((${#files[@]} > 0)); then
    # Unit-separated: name, service, port, spec_hash, then the spec as compact JSON (no raw control chars).
    spec_lines="$(jq -r 'select(type == "object" and .driver == "docker")
        | [(input_filename | split("/") | .[-2]), (.service // ""), (.port // 0 | tostring), (.spec_hash // ""), tojson] | join("\u001f")' \
      "${files[@]}" 2>/dev/null || true)"
    while IFS=$'\x1f' read -r name svc port hash line; do
      iact::is_name "${name}" || continue
      spec_of["${name}"]="${line}"
      service_of["${name}"]="${svc}"
      port_of["${name}"]="${port}"
      hash_of["${name}"]="${hash}"
      names+=("${name}")
    done <<<"${spec_lines}"
  fi

  # A container can vanish between `ps` and `inspect` (a concurrent destroy): list again and retry.
  local attempt
  for attempt in 1 2 3; do
    if ! ids="$(docker ps -aq --no-trunc --filter "label=iact.environment=${ENV_NAME}" --filter label=iact.driver=docker 2>/dev/null)"; then
      iact::docker_no_engine
    fi
    [[ -z "${ids}" ]] && break
    # shellcheck disable=SC2086 # one container id per word
    inspect="$(docker container inspect ${ids} 2>/dev/null)" && break
    if ((attempt == 3)); then
      # shellcheck disable=SC2086
      iact::die 1 "docker container inspect failed: $(docker container inspect ${ids} 2>&1 >/dev/null | head -n 3)" \
        "check the engine: scripts/docker-engine.sh status"
    fi
  done
  if [[ -n "${ids}" ]]; then
    container_lines="$(jq -r '.[] | [.Config.Labels["iact.name"], .State.Status, (.State.Pid|tostring), .Config.Labels["iact.service"],
        .Config.Labels["iact.port"], .Config.Labels["iact.spec_hash"],
        ([.Mounts[] | select(.Type == "volume") | .Source][0] // "")] | @tsv' <<<"${inspect}")"
    while IFS=$'\t' read -r name state_line pid_line svc port hash mount; do
      iact::is_name "${name}" || continue
      state_of["${name}"]="${state_line}"
      pid_of["${name}"]="${pid_line}"
      mount_of["${name}"]="${mount}"
      if [[ -z "${spec_of[${name}]+x}" ]]; then
        # A container without its directory: reported (spec null) so the planner can delete it.
        spec_of["${name}"]=null
        service_of["${name}"]="${svc}"
        port_of["${name}"]="${port}"
        hash_of["${name}"]="${hash}"
        names+=("${name}")
      fi
      [[ -n "${mount}" && -d "${mount}" ]] && mounts+=("${mount}")
    done <<<"${container_lines}"
  fi
  # Volume sizes in one du (readable when the engine is local and we are root).
  if ((${#mounts[@]} > 0)); then
    du_lines="$(du -sb "${mounts[@]}" 2>/dev/null || true)"
    while IFS=$'\t' read -r line dir; do
      [[ -n "${dir}" ]] && bytes_of["${dir}"]="${line}"
    done <<<"${du_lines}"
  fi

    # No subshell per sandbox (a fork each costs ~ms): names and environment are regex-checked, the hash escaped in place.
  local out="" sep="" running healthy pid bytes state hash_json
  for name in "${names[@]}"; do
    if ((${#wanted[@]} > 0)); then
      [[ " ${wanted[*]} " == *" ${name} "* ]] || continue
    fi
    svc="${service_of[${name}]}"
    case "${svc}" in
      postgres | mysql | redis | none) ;;
      *)
        iact::warn "sandbox ${name}: unknown service '${svc}' in its sandbox.json; not reported"
        continue
        ;;
    esac
    port="${port_of[${name}]}"
    [[ "${port}" =~ ^[0-9]+$ ]] || port=0
    state="${state_of[${name}]:-}"
    running=false healthy=false pid=null bytes=0
    if [[ "${svc}" == none ]]; then
      if [[ ! -e "${SANDBOX_ROOT}/${ENV_NAME}/${name}/.stopped" ]]; then running=true healthy=true; fi
    elif [[ "${state}" == running ]]; then
      running=true
      [[ "${pid_of[${name}]}" =~ ^[1-9][0-9]*$ ]] && pid="${pid_of[${name}]}"
      iact::service_answers "${port}" "${svc}" && healthy=true
    fi
    [[ -n "${mount_of[${name}]:-}" ]] && bytes="${bytes_of[${mount_of[${name}]}]:-0}"
    iact::docker_json_escape hash_json "${hash_of[${name}]}"
    out+="${sep}{\"name\":\"${name}\",\"environment\":\"${ENV_NAME}\",\"driver\":\"docker\",\"service\":\"${svc}\",\"port\":${port},\"running\":${running},\"healthy\":${healthy},\"pid\":${pid},\"spec_hash\":${hash_json},\"spec\":${spec_of[${name}]},\"data_bytes\":${bytes}}"
    sep=","
  done
  printf '[%s' "${out}"
  printf ']\n'
}

cmd_list() {
  local status
  status="$(cmd_status)"
  local name service port state health
  printf '%-24s %-9s %-6s %-8s %s\n' NAME SERVICE PORT STATE HEALTH
  while IFS=$'\t' read -r name service port state health; do
    printf '%-24s %-9s %-6s %-8s %s\n' "${name}" "${service}" "${port}" "${state}" "${health}"
  done < <(jq -r '.[] | [.name, .service, (.port|tostring), (if .running then "running" else "stopped" end),
            (if .healthy then "healthy" else "-" end)] | @tsv' <<<"${status}")
}

cmd_info() {
  local name="$1" dir status
  iact::validate_name "${name}"
  require_sandbox "${name}"
  dir="$(sandbox_dir "${name}")"
  if [[ "${SB_SERVICE}" == none ]]; then
    status="[]"
  else
    status="$(cmd_status "${name}")"
  fi
  jq --arg dir "${dir}" --arg container "$(iact::docker_container_name "${ENV_NAME}" "${name}")" \
    --arg volume "$(iact::docker_volume_name "${ENV_NAME}" "${name}")" --arg image "${SB_IMAGE}" \
    --slurpfile spec "${dir}/sandbox.json" \
    '(.[0] // {}) + {dir: $dir, activate: ($dir + "/bin/activate"), container: $container, volume: $volume, image: $image, spec: $spec[0]}' <<<"${status}"
}

cmd_activate() {
  local name="$1" dir
  iact::validate_name "${name}"
  require_sandbox "${name}"
  dir="$(sandbox_dir "${name}")"
  printf '%s\n' "${dir}/bin/activate"
}

cmd_backup() {
  local name="$1" out="$2" container tmp started=0 ok=1
  iact::validate_name "${name}"
  [[ -n "${out}" ]] || iact::usage_error "backup needs --out FILE" "bash/virtualize.sh backup ${name} --out FILE"
  require_sandbox "${name}"
  tmp="$(umask 077 && mktemp "${out}.XXXXXX")" || iact::die 1 "cannot write ${out}" "choose a writable path"
  chmod 0600 "${tmp}"
  if [[ "${SB_SERVICE}" != none ]]; then
    iact::docker_require_engine
    container="$(iact::docker_container_name "${ENV_NAME}" "${name}")"
    if [[ "$(container_state "${container}")" != running$'\t'* ]]; then
      # A dump needs the server: a stopped sandbox runs for its backup and is stopped again.
      iact::info "sandbox ${name} is stopped; starting it for the backup"
      # In a subshell so that its failure (already reported) still removes the temporary file.
      if ! (converge_container "${name}"); then
        rm -f "${tmp}"
        exit 1
      fi
      started=1
    elif ! iact::service_answers "${SB_PORT}" "${SB_SERVICE}"; then
      rm -f "${tmp}"
      iact::die 1 "sandbox ${name} is running but does not answer; no backup can be taken" \
        "restart it (iact apply restarts an unhealthy sandbox), or go on without a backup: --no-backup"
    fi
    case "${SB_SERVICE}" in
      postgres) docker exec "${container}" pg_dump -h /run/postgresql -U "${SB_USER}" --no-owner "${SB_DATABASE}" >"${tmp}" ;;
      mysql) docker exec "${container}" mariadb-dump --no-defaults -uroot -S /run/mysqld/mysqld.sock --single-transaction --databases "${SB_DATABASE}" >"${tmp}" ;;
      redis) docker exec "${container}" iact-service save >/dev/null && docker exec "${container}" cat /data/dump.rdb >"${tmp}" ;;
    esac || ok=0
    if ((started)); then docker stop --time 30 "${container}" >/dev/null; fi
    if ((!ok)); then
      rm -f "${tmp}"
      iact::die 1 "backup of ${name} failed" "read: docker logs ${container}; iact destroy and apply take --no-backup to go on without one"
    fi
  fi
  mv -f "${tmp}" "${out}"
  iact::info "sandbox ${name} backed up to ${out}"
}

cmd_check() {
  command -v jq >/dev/null 2>&1 || iact::die 1 "jq is not installed" "apt-get install -y jq"
  iact::docker_require_engine
  iact::info "docker engine reachable${DOCKER_HOST:+ at ${DOCKER_HOST}}"
}

# ---------------------------------------------------------------- main

main() {
  local verb="${1:-}" env_flag="" spec_file="" out="" restart=0 yes=0 port_is_ours=0
  local -a pos=()
  [[ -n "${verb}" ]] || {
    usage
    exit 2
  }
  shift
  while (($# > 0)); do
    case "$1" in
      --env)
        (($# >= 2)) || iact::usage_error "--env needs a value"
        env_flag="$2"
        shift 2
        ;;
      --env=*) env_flag="${1#--env=}" && shift ;;
      --spec)
        (($# >= 2)) || iact::usage_error "--spec needs a file"
        spec_file="$2"
        shift 2
        ;;
      --out)
        (($# >= 2)) || iact::usage_error "--out needs a file"
        out="$2"
        shift 2
        ;;
      --restart) restart=1 && shift ;;
      --port-is-ours) port_is_ours=1 && shift ;;
      --yes | -y) yes=1 && shift ;;
      --json) shift ;;
      -h | --help)
        usage
        exit 0
        ;;
      -*) iact::usage_error "unknown option '$1'" ;;
      *) pos+=("$1") && shift ;;
    esac
  done
  ENV_NAME="$(iact::detect_environment "${env_flag}")"
  SANDBOX_ROOT="$(iact::sandbox_root)"
  readonly ENV_NAME SANDBOX_ROOT

  local n="${#pos[@]}"
  case "${verb}" in
    create)
      ((n == 3)) || iact::usage_error "usage: create NAME SERVICE PORT [--spec FILE]"
      cmd_create "${pos[0]}" "${pos[1]}" "${pos[2]}" "${spec_file}"
      ;;
    update)
      ((n == 1)) || iact::usage_error "usage: update NAME --spec FILE [--restart]"
      cmd_update "${pos[0]}" "${spec_file}" "${restart}"
      ;;
    start | stop | info | activate)
      ((n == 1)) || iact::usage_error "usage: ${verb} NAME"
      "cmd_${verb}" "${pos[0]}"
      ;;
    destroy)
      ((n == 1)) || iact::usage_error "usage: destroy NAME --yes"
      cmd_destroy "${pos[0]}" "${yes}"
      ;;
    status) cmd_status "${pos[@]}" ;;
    list)
      ((n == 0)) || iact::usage_error "usage: list"
      cmd_list
      ;;
    backup)
      ((n == 1)) || iact::usage_error "usage: backup NAME --out FILE"
      cmd_backup "${pos[0]}" "${out}"
      ;;
    preflight)
      ((n == 1)) || iact::usage_error "usage: preflight NAME --spec FILE [--port-is-ours]"
      cmd_preflight "${pos[0]}" "${spec_file}" "${port_is_ours}"
      ;;
    check) cmd_check ;;
    help) usage ;;
    *) iact::usage_error "unknown verb '${verb}'" "use create, update, start, stop, destroy, status, list, info, activate, backup, preflight or check" ;;
  esac
}

main "$@"
