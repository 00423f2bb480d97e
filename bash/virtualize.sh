#!/usr/bin/env bash
# docker driver: one container per sandbox, labelled with project, environment, name, spec hash and
# config hash; a named volume for the data; the port published on 127.0.0.1 only. Driver hooks over
# bash/lib (docs/driver-protocol.md): arguments, spec, validation, sandbox files, activate, update
# steps and rollback are the shared ones; the verbs whose shared form runs a local process are
# replaced here.
set -euo pipefail

SCRIPT_DIR="${BASH_SOURCE[0]%/*}"
[[ "${SCRIPT_DIR}" != "${BASH_SOURCE[0]}" ]] || SCRIPT_DIR=.
# shellcheck source=lib/sandbox.sh
source "${SCRIPT_DIR}/lib/sandbox.sh"
# shellcheck source=lib/docker.sh
source "${SCRIPT_DIR}/lib/docker.sh"

SB_DRIVER=docker
SB_TCP=1
SB_DESCRIPTION="Docker sandboxes: one container per sandbox (iact-<env>-<name>.<project>) from
the images of scripts/docker-images.sh, its data in a named volume, published on 127.0.0.1:PORT
only. Update steps set-password and reload act in the running container; recreate (or restart)
makes a new one on the same volume. \`check\` exits 0 when a docker engine is reachable
(scripts/docker-engine.sh starts one)."
# Containers run as the image's service account; files here stay root's.
SB_OS_USER=root
# What the shared update check names the step a port, memory or restart-only setting needs.
SB_RESTART_STEP=recreate

drv::prerequisites() {
  iact::need_binary jq "apt-get install -y jq"
  [[ "${SB_SERVICE:-none}" != none ]] || return 0
  iact::docker_require_cli
  # The engine the spec names (docs/remote-engines.md), else DOCKER_HOST / DOCKER_CONTEXT.
  dkr::engine_of_spec
  iact::docker_require_engine
}
# No pidfile: a container's liveness is the engine's (status, dkr::inspect).
drv::set_pidfile() { SB_PIDFILE=''; }
drv::prepare() { :; }
# destroy: the container, then its volume (dkr::names in drv::cmd_destroy; none when unset).
drv::stop_processes() { [[ -z "${DKR_CONTAINER:-}" ]] || docker rm -f -v "${DKR_CONTAINER}" >/dev/null 2>&1 || true; }
drv::cleanup() {
  if [[ -n "${DKR_VOLUME:-}" ]] && command -v docker >/dev/null 2>&1 && docker volume inspect "${DKR_VOLUME}" >/dev/null 2>&1; then
    docker volume rm -f "${DKR_VOLUME}" >/dev/null
  fi
  return 0
}

# SB_* of an existing sandbox from its sandbox.json, read and checked by the shared spec reader
# (the shared loader checks this machine's service binaries, which a container does not use).
drv::load_existing() {
  { sb::exists && sb::read_meta "${SB_DIR}"; } ||
    iact::die 1 "no sandbox '${SB_NAME}' in environment '${SB_ENV}'" "create it: ${SB_SCRIPT} create ${SB_NAME} SERVICE PORT --env ${SB_ENV}" not-found
  [[ "${META_DRIVER}" == "${SB_DRIVER}" ]] || iact::die 1 "sandbox '${SB_NAME}' belongs to the ${META_DRIVER} driver" "use that driver's script" usage
  sb::ingest_spec "${SB_DIR}/sandbox.json"
  SB_SERVICE="${SPEC_SERVICE}" SB_PORT="${SPEC_PORT}"
  sb::validate_fields
  SB_PASSWORD=''
  [[ -r "${SB_DIR}/secrets/password" ]] && { IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true; }
  drv::prerequisites
  [[ "${SB_SERVICE}" == none ]] || dkr::names
}

drv::cmd_create() {
  sb::need_args create 3 3 'NAME SERVICE PORT [--spec FILE]'
  # A none sandbox is its files: the shared create makes them.
  [[ "${ARG_POS[1]}" == none ]] && {
    sb::cmd_create
    return
  }
  sb::locate "${ARG_POS[0]}"
  sb::load_create_spec "${ARG_POS[0]}" "${ARG_POS[1]}" "${ARG_POS[2]}"
  drv::prerequisites
  [[ -d "${SB_ENV_DIR}" ]] || (umask 066 && mkdir -p "${SB_ENV_DIR}")
  sb::lock
  sb::claim_existing || true
  dkr::names
  dkr::inspect
  # Before anything is written: the port must be free unless our own running container publishes it.
  if [[ "${DKR_STATE}" != running || "${DKR_PORT}" != "${SB_PORT}" ]] && iact::port_open "${SB_PORT}"; then
    sb::die_port_in_use
  fi
  # Keep the stored password when the spec has none (create is an ensure).
  if [[ -z "${SB_PASSWORD}" && -r "${SB_DIR}/secrets/password" ]]; then IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true; fi
  [[ -n "${SB_PASSWORD}" ]] || SB_PASSWORD="$(sb::random_password)"
  sb::make_dirs
  # The container reads the password from the mounted secrets/password; sandbox.json, which plans
  # read, is written once a login with it works (docs/driver-protocol.md "Update steps").
  sb::write_password
  sb::write_identity
  # The container's name, recorded before it exists: an interrupted create is still this project's.
  [[ -f "${SB_DIR}/docker-container" ]] || sb::write_file "${SB_DIR}/docker-container" "${DKR_CONTAINER}"$'\n'
  dkr::write_config
  dkr::converge
  sb::write_state
  : >"${SB_DIR}/.initialized"
  iact::info "sandbox ${SB_NAME} (${SB_SERVICE}, docker on ${DKR_ENGINE}) ready on ${IACT_CONNECT_HOST}:${SB_PORT} in ${SB_ENV}"
}

# update NAME --spec - --steps a,b: the shared step reader and check (refuses, exit 2, what the steps
# cannot carry out); restart and recreate both make a new container on the same volume.
drv::cmd_update() {
  local running=0
  sb::update_begin
  # Another engine is another container and volume: a replace (iact plan shows it so), never an update.
  [[ "$(jq -cs '(.[0].engine // {} | {host, context}) == (.[1].engine // {} | {host, context})' "${SB_DIR}/sandbox.json" - <<<"${SB_OBSERVED_JSON}" 2>/dev/null)" == true ]] ||
    iact::die 2 "sandbox '${SB_NAME}' moves to another docker engine; that is a replace, not an update" "destroy and create it (iact apply does)"
  sb::lock
  if [[ "${SB_SERVICE}" != none ]]; then
    dkr::names
    dkr::inspect
    [[ "${DKR_STATE}" == running ]] && running=1
  fi
  sb::update_was_running "${running}"
  sb::update_snapshot
  sb::write_password
  sb::write_activate
  [[ "${SB_SERVICE}" == none ]] || dkr::write_config
  # A stopped (or missing) container changes with its files: the next start converges it.
  if ((running)); then
    if ((STEP_RESTART)); then
      dkr::converge 1
    else
      # set-password before reload: a reload logs in with the password the server has. Given, it runs
      # even when the recorded password is the spec's: the server may refuse it (a login-failed repair).
      if ((STEP_SET_PASSWORD)); then
        dkr::exec_service password login-failed
        SVC_SERVER_PASSWORD="${SB_PASSWORD}"
      fi
      ((STEP_RELOAD)) && dkr::exec_service reload refused-setting
      dkr::wait_ready
    fi
  fi
  # The state last: what the container accepted (a kill before this line leaves the change planned).
  sb::write_state
  sb::write_identity
  sb::update_done
  iact::info "sandbox ${SB_NAME} updated (steps: ${SB_STEPS_TEXT:-none}$( ((running)) || printf '; not running, so only its files changed'))"
}

drv::cmd_start() {
  sb::need_args start 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  drv::load_existing
  sb::lock
  if [[ "${SB_SERVICE}" == none ]]; then
    sb::remove_existing "${SB_DIR}/.stopped"
    return 0
  fi
  dkr::inspect
  # A running container may hold a password from an update that was rolled back: the file's wins.
  [[ "${DKR_STATE}" == running ]] && dkr::exec_service password login-failed
  dkr::converge
  iact::info "sandbox ${SB_NAME} started on ${IACT_CONNECT_HOST}:${SB_PORT}"
}

# stop keeps the container for the next start (drv::stop_processes, for destroy, removes it).
drv::stop_service() {
  dkr::inspect
  # docker stop returns once the container's init has exited: no reparented daemon is left to reap.
  [[ "${DKR_STATE}" != running ]] || docker stop --time 30 "${DKR_CONTAINER}" >/dev/null
}

# The shared destroy, plus a container or volume whose directory is gone (status reports it).
drv::cmd_destroy() {
  sb::need_args destroy 1 1 'NAME [--yes]'
  sb::locate "${ARG_POS[0]}"
  # Without its directory, only a container of this project's name (status's orphans): never one
  # made before projects, which no record here names (docs/remote-engines.md).
  if [[ ! -e "${SB_DIR}" ]] && command -v docker >/dev/null 2>&1; then
    iact::docker_select_engine
    dkr::project
    if [[ -n "${DKR_PROJECT}" ]]; then
      DKR_CONTAINER="iact-${SB_ENV}-${SB_NAME}.${DKR_PROJECT}" DKR_VOLUME="iact-${SB_ENV}-${SB_NAME}.${DKR_PROJECT}-data"
      drv::stop_processes
      drv::cleanup
    fi
  elif sb::read_meta "${SB_DIR}" && [[ "${META_SERVICE}" != none ]]; then
    iact::docker_require_cli
    dkr::engine_from_json "$(jq -c '.engine // null' "${SB_DIR}/sandbox.json" 2>/dev/null || printf null)" 1
    iact::docker_require_engine
    dkr::names
  fi
  sb::cmd_destroy
}

# Would create succeed here? The engine, the image, a free port; changes nothing.
drv::cmd_preflight() {
  sb::load_named_spec preflight 'NAME --spec FILE [--port-is-ours]'
  if [[ "${SB_SERVICE}" != none ]]; then
    dkr::image
    dkr::require_image
    if ! ((ARG_PORT_IS_OURS)) && iact::port_open "${SB_PORT}"; then
      sb::die_port_in_use
    fi
  fi
  iact::info "sandbox ${SB_NAME} can be created"
}

drv::cmd_backup() {
  local out tmp started=0 ok=1
  sb::backup_args
  out="${REPLY}"
  drv::load_existing
  [[ "${SB_SERVICE}" != none ]] || {
    sb::cmd_backup
    return
  }
  sb::lock
  dkr::inspect
  if [[ "${DKR_STATE}" != running ]]; then
    # A dump needs the server: a stopped sandbox runs for its backup and is stopped again.
    iact::info "sandbox ${SB_NAME} is stopped; starting it for the backup"
    dkr::converge
    started=1
  elif ! iact::service_answers "${SB_PORT}" "${SB_SERVICE}"; then
    iact::die 1 "sandbox '${SB_NAME}' is running but does not answer; no backup can be taken" \
      "restart it (iact apply restarts an unhealthy sandbox), or go on without a backup: --no-backup" backup-failed
  fi
  tmp="$(mktemp "${out}.XXXXXX")"
  chmod 0600 "${tmp}"
  case "${SB_SERVICE}" in
    postgres) docker exec "${DKR_CONTAINER}" pg_dump -h /run/postgresql -p "${SB_PORT}" -U "${SB_USER}" --no-owner "${SB_DB}" >"${tmp}" ;;
    mysql) docker exec "${DKR_CONTAINER}" mariadb-dump --no-defaults -uroot -S /run/mysqld/mysqld.sock --single-transaction --databases "${SB_DB}" >"${tmp}" ;;
    redis) printf '%s\n' "${SB_PASSWORD}" | docker exec -i "${DKR_CONTAINER}" iact-service save >/dev/null && docker exec "${DKR_CONTAINER}" cat /data/dump.rdb >"${tmp}" ;;
  esac || ok=0
  local where="read: docker logs ${DKR_CONTAINER}"
  # An image of another major (docs/operators.md "Other majors on the docker driver") may have no pg_dump.
  if ((!ok)) && [[ "${SB_SERVICE}" == postgres ]] && ! docker exec "${DKR_CONTAINER}" bash -c 'command -v pg_dump' >/dev/null 2>&1; then
    dkr::image
    where="image ${DKR_IMAGE} has no pg_dump (none of this machine is of its major or newer): install that client (apt-get install -y postgresql-client-${SB_VERSION%%.*} from the PostgreSQL apt repository), then scripts/docker-images.sh --force postgres@${SB_VERSION%%.*}"
  fi
  ((started)) && docker stop --time 30 "${DKR_CONTAINER}" >/dev/null
  sb::backup_done "${ok}" "${tmp}" "${out}" "${where}"
}

# One JSON array for every docker sandbox of the environment (sb::print_status's shape): one jq over
# the sandbox.json files, then per engine (docs/remote-engines.md) one `docker ps` and one `docker
# inspect`, and one du for the local ones, however many sandboxes. A container whose directory is gone
# is reported (spec null) so that a plan deletes it: on the engines the sandboxes name, and the default.
drv::cmd_status() {
  local name svc port hash spec state pid mount attempt ids='' inspect='' running healthy sep='' bytes login engine optional
  local recorded records='' file
  local -a names=() files=() mounts=() engines=()
  local -A spec_of=() service_of=() port_of=() hash_of=() state_of=() pid_of=() mount_of=() bytes_of=() engine_of=() connect_of=() used=()
  ((ARG_JSON)) || {
    sb::cmd_status
    return
  }
  sb::locate_wanted
  drv::prerequisites
  iact::docker_require_cli
  shopt -s nullglob
  files=("${SB_ENV_DIR}"/*/sandbox.json)
  if ((${#files[@]} > 0)); then
    while IFS=$'\x1f' read -r name svc port hash engine spec; do
      iact::is_name "${name}" || continue
      spec_of["${name}"]="${spec}" service_of["${name}"]="${svc}" port_of["${name}"]="${port}" hash_of["${name}"]="${hash}"
      engine_of["${name}"]="${engine}"
      [[ -n "${used[${engine}]+x}" ]] || engines+=("${engine}")
      used["${engine}"]=1
      names+=("${name}")
    done < <(jq -r 'select(type == "object" and .driver == "docker")
        | [(input_filename | split("/") | .[-2]), (.service // ""), (.port // 0 | tostring), (.spec_hash // "" | tojson),
           (.engine // null | tojson), tojson]
        | join("\u001f")' "${files[@]}" 2>/dev/null || true)
  fi
  # Which container each sandbox here is (dkr::names): the one its docker-container file records,
  # else its project name, or its name from before projects if that container is unlabelled and
  # publishes the sandbox's port. Other projects' containers on a shared engine are not ours.
  dkr::project
  for name in "${names[@]}"; do
    recorded='' file="${SB_ENV_DIR}/${name}/docker-container"
    [[ -f "${file}" && ! -L "${file}" ]] && { IFS= read -r recorded <"${file}" || true; }
    SB_NAME="${name}" dkr::is_own_container_name "${recorded}" || recorded=''
    records+="${name}"$'\t'"${recorded}"$'\t'"${port_of[${name}]}"$'\n'
  done
  # The default engine too, for containers whose directory is gone; unreachable, it is no error when
  # no sandbox uses it and others do (sandboxes all on remote engines).
  [[ -n "${used[null]+x}" ]] || engines+=(null)
  for engine in "${engines[@]}"; do
    optional=0
    [[ "${engine}" == null && -z "${used[null]+x}" ]] && ((${#engines[@]} > 1)) && optional=1
    dkr::engine_from_json "${engine}" 1
    for name in "${names[@]}"; do
      [[ "${engine_of[${name}]:-}" == "${engine}" ]] && connect_of["${name}"]="${IACT_CONNECT_HOST}"
    done
    # A container can vanish between `ps` and `inspect` (a concurrent destroy): list again and retry.
    inspect='' ids=''
    for attempt in 1 2 3; do
      if ! ids="$(docker ps -aq --no-trunc --filter "label=iact.environment=${SB_ENV}" --filter label=iact.driver=docker 2>/dev/null)"; then
        ((optional)) && continue 2
        iact::docker_no_engine
      fi
      [[ -z "${ids}" ]] && break
      # shellcheck disable=SC2086 # one container id per word
      inspect="$(docker container inspect ${ids} 2>/dev/null)" && break
      ((attempt < 3)) || iact::die 1 "docker container inspect failed on ${DKR_ENGINE}" "check the engine: iact doctor" no-engine
    done
    [[ -n "${ids}" ]] || continue
    while IFS=$'\t' read -r name state pid svc port hash mount; do
      iact::is_name "${name}" || continue
      if [[ -z "${spec_of[${name}]+x}" ]]; then
        spec_of["${name}"]=null service_of["${name}"]="${svc}" port_of["${name}"]="${port}" hash_of["${name}"]="${hash}"
        engine_of["${name}"]="${engine}" connect_of["${name}"]="${IACT_CONNECT_HOST}"
        names+=("${name}")
      fi
      # A container on an engine its sandbox does not name (left by an interrupted move) is not its state.
      [[ "${engine_of[${name}]}" == "${engine}" ]] || continue
      state_of["${name}"]="${state}" pid_of["${name}"]="${pid}"
      # Volume paths of a remote engine are on its host, not here.
      if ! ((DKR_REMOTE)); then
        mount_of["${name}"]="${mount}"
        [[ -n "${mount}" && -d "${mount}" ]] && mounts+=("${mount}")
      fi
    done < <(jq -r --arg env "${SB_ENV}" --arg project "${DKR_PROJECT}" --arg records "${records}" '
        ($records | split("\n") | map(split("\t") | select(length == 3) | {key: .[0], value: {recorded: .[1], port: .[2]}})
          | from_entries) as $records
        | .[] | (.Name | ltrimstr("/")) as $n | (.Config.Labels // {}) as $l | ($l["iact.name"] // "") as $name
        | "iact-\($env)-\($name)" as $old | $records[$name] as $r
        | select(if $r != null then
            (if $r.recorded != "" then $n == $r.recorded
             else ($project != "" and $n == "\($old).\($project)") or ($n == $old and ($l["iact.project"] // "") == "" and $l["iact.port"] == $r.port) end)
          else $project != "" and $l["iact.project"] == $project and $n == "\($old).\($project)" end)
        | [.Config.Labels["iact.name"], .State.Status, (.State.Pid | tostring), .Config.Labels["iact.service"],
        .Config.Labels["iact.port"], (.Config.Labels["iact.spec_hash"] // "" | tojson),
        ([.Mounts[] | select(.Type == "volume") | .Source][0] // "")] | @tsv' <<<"${inspect}")
  done
  # Volume sizes in one du (readable when the engine is local and we are root).
  if ((${#mounts[@]} > 0)); then
    while IFS=$'\t' read -r bytes mount; do
      [[ -n "${mount}" ]] && bytes_of["${mount}"]="${bytes}"
    done < <(du -sb "${mounts[@]}" 2>/dev/null || true)
  fi
  printf '['
  for name in "${names[@]}"; do
    ((${#SB_WANTED[@]} == 0)) || [[ " ${SB_WANTED[*]} " == *" ${name} "* ]] || continue
    SB_NAME="${name}" SB_SERVICE="${service_of[${name}]}" SB_PORT="${port_of[${name}]}" SB_PID=null
    [[ " ${IACT_SERVICES} " == *" ${SB_SERVICE} "* && "${SB_PORT}" =~ ^[0-9]+$ ]] || continue
    running=false healthy=false login='' IACT_CONNECT_HOST="${connect_of[${name}]:-127.0.0.1}"
    sb::spec_tls "${spec_of[${name}]}"
    if [[ "${SB_SERVICE}" == none ]]; then
      [[ -e "${SB_ENV_DIR}/${name}/.stopped" ]] || running=true healthy=true
    elif [[ "${state_of[${name}]:-}" == running ]]; then
      running=true
      [[ "${pid_of[${name}]}" =~ ^[1-9][0-9]*$ ]] && SB_PID="${pid_of[${name}]}"
      if iact::service_answers "${SB_PORT}" "${SB_SERVICE}"; then
        healthy=true
        # A real login with the recorded password, as the lightweight status does.
        SB_DIR="${SB_ENV_DIR}/${name}"
        sb::status_login "${spec_of[${name}]}"
        login="${REPLY}"
      fi
    fi
    mount="${mount_of[${name}]:-}" bytes=0
    [[ -n "${mount}" ]] && bytes="${bytes_of[${mount}]:-0}"
    sb::print_status "${sep}" "${running}" "${healthy}" "${hash_of[${name}]}" "${spec_of[${name}]}" "${bytes}" "${login}"
    sep=','
  done
  printf ']\n'
}

drv::cmd_check() {
  iact::need_binary jq "apt-get install -y jq"
  iact::docker_require_engine
  iact::info "docker engine reachable${DOCKER_HOST:+ at ${DOCKER_HOST}}"
}

main() {
  sb::main "$@"
}

main "$@"
