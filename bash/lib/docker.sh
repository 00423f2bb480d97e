#!/usr/bin/env bash
# Docker helpers of bash/virtualize.sh. Sourced, never executed; needs common.sh (and its catalog.sh)
# and sandbox.sh. One container per sandbox (iact-<env>-<name>.<project>), one named volume for its data, labels
# for discovery; what differs per service (image, port, data path) is read from lib/catalog.sh.

[[ -n "${IACT_DOCKER_SH:-}" ]] && return 0
IACT_DOCKER_SH=1

# Where scripts/docker-engine.sh puts its private engine.
readonly IACT_PRIVATE_DOCKER_SOCKET="${IACT_DOCKER_RUN:-/run/iact-docker}/docker.sock"
# The sandbox directory inside its container (read-only): secrets/password and the config file.
readonly DKR_SANDBOX_MOUNT=/run/iact
# A tls: true sandbox's tls/ inside its container (read-only), and the uid the images' services run
# as (scripts/docker-images.sh SVC_UID), which must own the server's key (docs/operators.md "TLS sandboxes").
readonly DKR_TLS_MOUNT=/run/iact-tls
readonly DKR_SERVICE_UID=999

# The docker CLI's own settings as this script found them: each engine of a status starts from them.
readonly DKR_ENV_HOST="${DOCKER_HOST:-}" DKR_ENV_CONTEXT="${DOCKER_CONTEXT:-}"
readonly DKR_ENV_TLS_VERIFY="${DOCKER_TLS_VERIFY:-}" DKR_ENV_CERT_PATH="${DOCKER_CERT_PATH:-}"
# The engine in use (dkr::select_engine): its name in messages, remote or not, where ports bind.
DKR_ENGINE='' DKR_ENGINE_SET=0 DKR_REMOTE=0 DKR_PUBLISH=127.0.0.1
# engine.host: tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH (IPv6 in brackets).
readonly DKR_HOST_RE='^(tcp://[][A-Za-z0-9.:_-]{1,253}:[0-9]{1,5}|ssh://([A-Za-z_][A-Za-z0-9_.-]{0,62}@)?[][A-Za-z0-9.:_-]{1,253}(:[0-9]{1,5})?|unix:///[A-Za-z0-9._/-]{1,1000})$'
# --tlsverify and the manifest's certificate files, given to every docker call.
DKR_DOCKER_FLAGS=()

# Every docker call of the driver goes to the selected engine.
docker() { command docker "${DKR_DOCKER_FLAGS[@]}" "$@"; }

# Use $DOCKER_HOST, else the system engine, else the private engine of scripts/docker-engine.sh.
iact::docker_select_engine() {
  ((DKR_ENGINE_SET)) && return 0
  [[ -n "${DOCKER_HOST:-}" ]] && return 0
  if [[ ! -S /var/run/docker.sock && -S "${IACT_PRIVATE_DOCKER_SOCKET}" ]]; then
    export DOCKER_HOST="unix://${IACT_PRIVATE_DOCKER_SOCKET}"
  fi
}

iact::docker_no_engine() {
  if ((DKR_REMOTE)); then
    iact::die 1 "the docker engine ${DKR_ENGINE} is not reachable${SB_NAME:+ (sandbox ${SB_NAME})}" \
      "check the network to it and that its dockerd runs, then apply again; iact doctor checks it (docs/remote-engines.md)" no-engine
  fi
  iact::die 1 "no docker engine is reachable${DOCKER_HOST:+ at ${DOCKER_HOST}}" \
    "start one: scripts/docker-engine.sh start (a private dockerd; needs root and Debian's docker.io)" no-engine
}

# Selects the engine a sandbox's spec names (docs/remote-engines.md), its `engine` object in JSON
# (null: DOCKER_HOST / DOCKER_CONTEXT as the docker CLI reads them). LENIENT=1 (status): a remote
# engine without a publish address is looked at, not refused.
dkr::engine_from_json() {
  local json="${1:-null}" lenient="${2:-0}" host='' context='' ca='' cert='' key='' publish='' address=''
  if [[ -n "${json}" && "${json}" != null ]]; then
    IFS=$'\x1f' read -r host context ca cert key publish address < <(jq -r '[.host, .context, .tls.ca, .tls.cert, .tls.key, .publish, .address]
      | map(. // "" | tostring | gsub("[\u0000-\u001f]"; " ")) | join("\u001f")' <<<"${json}") ||
      iact::usage_error "the spec's engine is not an object" "pass the engine block iact writes (docs/remote-engines.md)"
  fi
  dkr::select_engine "${host}" "${context}" "${ca}" "${cert}" "${key}" "${publish}" "${address}" "${lenient}"
}

# The engine of the spec being applied (SB_OBSERVED_JSON: the spec given, or sandbox.json's).
dkr::engine_of_spec() {
  dkr::engine_from_json "$(jq -c '.engine // null' <<<"${SB_OBSERVED_JSON:-null}")"
}

# HOST CONTEXT CA CERT KEY PUBLISH ADDRESS LENIENT, each checked again here (the manifest's checks are
# src/manifest/semantic.ts): exports DOCKER_HOST or DOCKER_CONTEXT for the CLI, the TLS files as flags;
# sets DKR_ENGINE, DKR_REMOTE, DKR_PUBLISH and IACT_CONNECT_HOST (where this machine reaches ports).
dkr::select_engine() {
  local host="$1" context="$2" ca="$3" cert="$4" key="$5" publish="$6" address="$7" lenient="${8:-0}" file
  DKR_DOCKER_FLAGS=() DKR_REMOTE=0 DKR_ENGINE_SET=0
  # Start from the CLI's settings as found: a previous engine of this run must not leak into the next.
  export DOCKER_HOST="${DKR_ENV_HOST}" DOCKER_CONTEXT="${DKR_ENV_CONTEXT}" DOCKER_TLS_VERIFY="${DKR_ENV_TLS_VERIFY}" DOCKER_CERT_PATH="${DKR_ENV_CERT_PATH}"
  [[ -n "${DOCKER_HOST}" ]] || unset DOCKER_HOST
  [[ -n "${DOCKER_CONTEXT}" ]] || unset DOCKER_CONTEXT
  [[ -n "${DOCKER_TLS_VERIFY}" ]] || unset DOCKER_TLS_VERIFY
  [[ -n "${DOCKER_CERT_PATH}" ]] || unset DOCKER_CERT_PATH
  if [[ -n "${host}" ]]; then
    [[ "${host}" =~ ${DKR_HOST_RE} ]] ||
      iact::usage_error "engine host '${host}' is not tcp://HOST:PORT, ssh://[USER@]HOST[:PORT] or unix:///PATH" "fix engine.host in the manifest (docs/remote-engines.md)"
    unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    export DOCKER_HOST="${host}"
    DKR_ENGINE="${host}" DKR_ENGINE_SET=1
    [[ "${host}" == unix://* ]] || DKR_REMOTE=1
  elif [[ -n "${context}" ]]; then
    [[ "${context}" =~ ^[A-Za-z0-9][A-Za-z0-9_.+-]{0,62}$ ]] || iact::usage_error "engine context '${context}' is not a docker context name" "fix engine.context in the manifest"
    unset DOCKER_HOST DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    export DOCKER_CONTEXT="${context}"
    DKR_ENGINE="context ${context}" DKR_ENGINE_SET=1
    [[ "${context}" == default ]] || DKR_REMOTE=1
  else
    iact::docker_select_engine
    DKR_ENGINE="${DOCKER_HOST:-${DOCKER_CONTEXT:+context ${DOCKER_CONTEXT}}}"
    DKR_ENGINE="${DKR_ENGINE:-the local engine}"
    [[ "${DOCKER_HOST:-}" == tcp://* || "${DOCKER_HOST:-}" == ssh://* ]] && DKR_REMOTE=1
    [[ -z "${DOCKER_HOST:-}" && -n "${DOCKER_CONTEXT:-}" && "${DOCKER_CONTEXT}" != default ]] && DKR_REMOTE=1
  fi
  if [[ -n "${ca}${cert}${key}" ]]; then
    # Relative paths are the project root's: the driver runs there (docs/driver-protocol.md).
    [[ "${ca}" == /* ]] || ca="${PWD}/${ca}"
    [[ "${cert}" == /* ]] || cert="${PWD}/${cert}"
    [[ "${key}" == /* ]] || key="${PWD}/${key}"
    for file in "${ca}" "${cert}" "${key}"; do
      [[ -f "${file}" && -r "${file}" ]] ||
        iact::die 1 "TLS file '${file}' of the docker engine ${DKR_ENGINE} is not a readable file" "fix engine.tls (ca, cert, key) in the manifest (docs/remote-engines.md)" usage
    done
    DKR_DOCKER_FLAGS=(--tlsverify --tlscacert "${ca}" --tlscert "${cert}" --tlskey "${key}")
  fi
  [[ -z "${publish}" || "${publish}" =~ ^[0-9A-Fa-f.:]{2,45}$ ]] || iact::usage_error "engine publish '${publish}' is not an IP address" "fix engine.publish in the manifest"
  [[ -z "${address}" || "${address}" =~ ^[A-Za-z0-9:][A-Za-z0-9.:_-]{0,252}$ ]] || iact::usage_error "engine address '${address}' is not a host name or IP address" "fix engine.address in the manifest"
  if [[ -z "${publish}" ]] && ((DKR_REMOTE)) && ! ((lenient)); then
    iact::usage_error "the docker engine ${DKR_ENGINE} is remote and no engine.publish says where its ports bind${SB_NAME:+ (sandbox ${SB_NAME})}" \
      "set engine.publish to the address of the engine's host that clients reach, e.g. publish: 10.0.0.5 (docs/remote-engines.md)"
  fi
  DKR_PUBLISH="${publish:-127.0.0.1}"
  IACT_CONNECT_HOST="${address:-${DKR_PUBLISH}}"
  if [[ "${IACT_CONNECT_HOST}" == 0.0.0.0 || "${IACT_CONNECT_HOST}" == :: ]]; then
    ((DKR_REMOTE)) && ! ((lenient)) && iact::usage_error "publish ${DKR_PUBLISH} on the remote docker engine ${DKR_ENGINE} needs engine.address: the host clients reach" \
      "set engine.address (docs/remote-engines.md)"
    IACT_CONNECT_HOST=127.0.0.1
  fi
  DKR_ENGINE_SET=1
}

# A remote engine cannot bind-mount this machine's sandbox directory: the password and config file
# reach the container by `docker cp` of a tar stream on stdin (never argv), into DKR_SANDBOX_MOUNT.
dkr::push_files() {
  local config="${IACT_CAT_CONFIG_FILE[${SB_SERVICE}]}" file
  local -a files=() tls=()
  ((DKR_REMOTE)) || return 0
  [[ -f "${SB_DIR}/secrets/password" && ! -L "${SB_DIR}/secrets/password" ]] && files+=(secrets/password)
  [[ -f "${SB_DIR}/${config}" && ! -L "${SB_DIR}/${config}" ]] && files+=("${config}")
  # tls/ into DKR_TLS_MOUNT with the owners dkr::tls_files gave them: the key DKR_SERVICE_UID's, 0600.
  if [[ "${SB_TLS:-false}" == true ]]; then
    for file in ca.crt server.crt server.key pg_hba.conf; do
      [[ -f "${SB_DIR}/tls/${file}" && ! -L "${SB_DIR}/tls/${file}" ]] && tls+=("${file}")
    done
  fi
  ((${#files[@]} > 0)) || return 0
  {
    tar -C "${SB_DIR}" --owner=0 --group=0 --numeric-owner --transform "s,^,${DKR_SANDBOX_MOUNT##*/}/," -cf - "${files[@]}" |
      docker cp - "${DKR_CONTAINER}:${DKR_SANDBOX_MOUNT%/*}" >/dev/null 2>&1 &&
      { ((${#tls[@]} == 0)) || tar -C "${SB_DIR}/tls" --numeric-owner --transform "s,^,${DKR_TLS_MOUNT##*/}/," -cf - "${tls[@]}" |
        docker cp - "${DKR_CONTAINER}:${DKR_TLS_MOUNT%/*}" >/dev/null 2>&1; }
  } || {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
    iact::die 1 "sandbox ${SB_NAME}: its files could not be copied into container ${DKR_CONTAINER} on ${DKR_ENGINE}" "read: docker logs ${DKR_CONTAINER}" start-failed
  }
}

iact::docker_require_cli() {
  iact::need_binary docker "apt-get install -y docker.io, then scripts/docker-engine.sh start"
}

iact::docker_require_engine() {
  iact::docker_require_cli
  iact::docker_select_engine
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
}

# A project's containers on a shared engine (docs/remote-engines.md "Projects on one engine"): the
# sandbox root holds a random id, made at the first docker create; it names and labels them.
readonly DKR_PROJECT_RE='^[0-9a-f]{12}$'

# DKR_PROJECT = the id in SB_ROOT/.docker-project; empty when there is none and CREATE is not 1.
dkr::project() {
  local create="${1:-0}" file="${SB_ROOT}/.docker-project" tmp id=''
  DKR_PROJECT=''
  if [[ ! -e "${file}" && ! -L "${file}" ]]; then
    ((create)) || return 0
    [[ -d "${SB_ROOT}" ]] || (umask 066 && mkdir -p "${SB_ROOT}")
    tmp="$(mktemp "${SB_ROOT}/.docker-project.XXXXXX")"
    od -An -N6 -tx1 /dev/urandom | tr -d ' \n' >"${tmp}"
    chmod 0644 "${tmp}"
    # link(2) does not replace: of two first creates racing, one id stands and both read it.
    ln "${tmp}" "${file}" 2>/dev/null || true
    rm -f "${tmp}"
  fi
  [[ -f "${file}" && ! -L "${file}" ]] && { IFS= read -r id <"${file}" || true; }
  [[ "${id}" =~ ${DKR_PROJECT_RE} ]] ||
    iact::die 1 "${file} does not hold a project id (12 hex digits)" "restore it from a backup; without it this project's containers are not recognised (docs/remote-engines.md)" usage
  DKR_PROJECT="${id}"
}

# Whether NAME is a container name a sandbox of SB_ENV named SB_NAME may record: iact-ENV-NAME (made
# before projects) or iact-ENV-NAME.PROJECT.
dkr::is_own_container_name() {
  [[ "$1" == "iact-${SB_ENV}-${SB_NAME}" || ("$1" == "iact-${SB_ENV}-${SB_NAME}."* && "${1##*.}" =~ ${DKR_PROJECT_RE}) ]]
}

# DKR_CONTAINER and DKR_VOLUME (the container's name + -data) of the sandbox: what its directory
# records in docker-container; else, for a sandbox made before projects, the old name iact-ENV-NAME
# when that container is on the engine without a project label and publishes the port sandbox.json
# records (or, no such container, that volume is there without one): adopted, so an upgrade keeps its
# data; else iact-ENV-NAME.PROJECT. Recorded when the directory exists. Needs the engine selected.
dkr::names() {
  local file="${SB_DIR}/docker-container" name='' legacy="iact-${SB_ENV}-${SB_NAME}" out port
  [[ -n "${DKR_PROJECT:-}" ]] || dkr::project 1
  if [[ -f "${file}" && ! -L "${file}" ]]; then
    IFS= read -r name <"${file}" || true
    dkr::is_own_container_name "${name}" ||
      iact::die 1 "${file} names container '${name}', not one of sandbox ${SB_NAME}" "remove the file to let iact find its container" usage
  elif [[ -f "${SB_DIR}/sandbox.json" ]]; then
    port="$(jq -r '.port // ""' "${SB_DIR}/sandbox.json" 2>/dev/null || true)"
    if out="$(docker container inspect --format '{{index .Config.Labels "iact.project"}}/{{index .Config.Labels "iact.port"}}' "${legacy}" 2>/dev/null)"; then
      [[ -n "${port}" && "${out}" == "/${port}" ]] && name="${legacy}"
    elif out="$(docker volume inspect --format '{{index .Labels "iact.project"}}' "${legacy}-data" 2>/dev/null)" && [[ -z "${out}" ]]; then
      name="${legacy}"
    fi
    [[ -n "${name}" ]] && iact::info "sandbox ${SB_NAME}: keeps its container ${name}, made before project names (docs/remote-engines.md)"
  fi
  [[ -n "${name}" ]] || name="${legacy}.${DKR_PROJECT}"
  DKR_CONTAINER="${name}" DKR_VOLUME="${name}-data"
  if [[ -d "${SB_DIR}" && ! -L "${SB_DIR}" && ! -f "${file}" ]]; then sb::write_file "${file}" "${name}"$'\n'; fi
  return 0
}

# DKR_IMAGE = the spec's image, else the catalogue's default for the service, tagged with the
# spec's version when that is not the default's (postgres 16 -> iact/postgres:16).
dkr::image() {
  local default="${IACT_CAT_DEFAULT_IMAGE[${SB_SERVICE}]}" tag
  tag="${default##*:}"
  if [[ -n "${SB_IMAGE:-}" ]]; then
    DKR_IMAGE="${SB_IMAGE}"
  elif [[ -z "${SB_VERSION}" || "${SB_VERSION}" == "${tag}" || "${SB_VERSION}" == "${tag}".* ]]; then
    DKR_IMAGE="${default}"
  else
    DKR_IMAGE="${default%:*}:${SB_VERSION}"
  fi
}

dkr::require_image() {
  docker image inspect --format '{{.Id}}' "${DKR_IMAGE}" >/dev/null 2>&1 && return 0
  # An engine that stopped (mid-apply) is not a missing image.
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
  # Another PostgreSQL major (13-17, what `iact install` fetches) than the default image's (docs/operators.md).
  if [[ "${DKR_IMAGE}" == iact/postgres:* && "${DKR_IMAGE}" != "${IACT_CAT_DEFAULT_IMAGE[postgres]}" && "${DKR_IMAGE##*:}" =~ ^1[3-7]$ ]]; then
    iact::die 1 "docker image ${DKR_IMAGE} is not built" \
      "iact install postgres@${DKR_IMAGE##*:}, then scripts/docker-images.sh postgres@${DKR_IMAGE##*:} (builds ${DKR_IMAGE} from the binaries it fetched)" missing-image
  fi
  if [[ "${DKR_IMAGE}" == iact/* ]]; then
    iact::die 1 "docker image ${DKR_IMAGE} is not built" \
      "run scripts/docker-images.sh (builds ${IACT_CAT_DEFAULT_IMAGE[*]} from this machine's binaries)" missing-image
  fi
  iact::die 1 "docker image ${DKR_IMAGE} is not on this engine" "docker pull ${DKR_IMAGE} (or docker load it), then retry" missing-image
}

# DKR_STATE, DKR_HASH (config hash label) and DKR_PORT of the sandbox's container; DKR_STATE is
# empty when there is none. Doubles as the engine check: one docker call instead of two.
dkr::inspect() {
  local out
  DKR_STATE='' DKR_HASH='' DKR_PORT=''
  iact::docker_require_cli
  iact::docker_select_engine
  # shellcheck disable=SC2034 # DKR_PORT is read by bash/virtualize.sh
  if out="$(docker container inspect --format '{{.State.Status}}{{"\t"}}{{index .Config.Labels "iact.config_hash"}}{{"\t"}}{{index .Config.Labels "iact.port"}}' "${DKR_CONTAINER}" 2>&1)"; then
    IFS=$'\t' read -r DKR_STATE DKR_HASH DKR_PORT <<<"${out}"
    return 0
  fi
  [[ "${out}" == *"No such"* ]] && return 0
  [[ "${out}" == *"Cannot connect"* || "${out}" == *"connect:"* || "${out}" == *"daemon running"* ]] && iact::docker_no_engine
  iact::die 1 "docker container inspect ${DKR_CONTAINER} failed: ${out}" "scripts/docker-engine.sh status" no-engine
}

# DKR_CONFIG_HASH = the hash of what only a new container changes (docs/driver-protocol.md "Update
# steps": image, published port, memory, restart-only settings); the password and reloadable
# settings change in the running container, so they are left out. Reads sandbox.json's JSON on stdin,
# where secret settings are hashes: the same value at create, update and start.
dkr::config_hash() {
  local sum
  dkr::image
  # The publish address joins the hash only off 127.0.0.1: containers made before it existed keep theirs.
  sum="$(jq -cj --arg image "${DKR_IMAGE}" --arg reloadable "${IACT_CAT_RELOADABLE[${SB_SERVICE}]}" --arg publish "${DKR_PUBLISH}" '
      ($reloadable | split(" ")) as $r
      | [.service, .port, (.memory // ""), $image, (.database // ""), (.user // ""),
         ((.settings // {}) | with_entries(select(.key as $k | $r | any(. == $k) | not)))]
      # TLS rides on the container'"'"'s mounts and arguments; absent when off, so older hashes stay.
      + (if .tls == true then ["tls"] else [] end)
      + (if $publish == "127.0.0.1" then [] else [$publish] end)' | sha256sum)"
  DKR_CONFIG_HASH="${sum:0:32}"
}

# The service's config file in the sandbox (catalogue's path), holding the manifest's settings only:
# the image's entrypoint owns port, sockets and data directory. Mounted into the container, read at
# start and by `iact-service reload`, so settings never ride on the server's command line.
dkr::write_config() {
  local i key value text="# Written by iact for sandbox ${SB_NAME}; changes are overwritten on the next apply."$'\n'
  [[ "${SB_SERVICE}" == mysql ]] && text+="[mariadbd]"$'\n'
  for i in "${!SB_SETTING_KEYS[@]}"; do
    key="${SB_SETTING_KEYS[i]}" value="${SB_SETTING_VALUES[i]}"
    case "${IACT_CAT_CONFIG_FORMAT[${SB_SERVICE}]}" in
      postgresql) text+="${key} = '${value}'" ;;
      ini) text+="${key}=${value}" ;;
      redis)
        [[ "${value}" == true ]] && value=yes
        [[ "${value}" == false ]] && value=no
        text+="${key} ${value}"
        ;;
    esac
    text+=$'\n'
  done
  sb::write_file "${SB_DIR}/${IACT_CAT_CONFIG_FILE[${SB_SERVICE}]}" "${text}"
}

# tls/ of a tls: true sandbox, as the container's service reads it: the shared certificates
# (svc::tls_files), the server's key and certificate owned by DKR_SERVICE_UID (postgres refuses a key
# others can read; it runs as that uid), and for postgres an hba file that has no plaintext TCP line.
# The certificate names where clients connect: 127.0.0.1 and, off it, the engine's publish address and
# engine.address (docs/remote-engines.md "TLS on a remote engine"), so verify-full holds there too.
dkr::tls_files() {
  local dir="${SB_DIR}/tls" from=127.0.0.1/32 host san
  local -A seen=([127.0.0.1]=1 [0.0.0.0]=1 [::]=1 [localhost]=1)
  SVC_TLS_SANS=''
  for host in "${DKR_PUBLISH}" "${IACT_CONNECT_HOST}"; do
    [[ -n "${host}" && -z "${seen[${host}]+x}" ]] || continue
    seen["${host}"]=1
    if [[ "${host}" =~ ^[0-9.]+$ || "${host}" == *:* ]]; then san="IP:${host}"; else san="DNS:${host}"; fi
    SVC_TLS_SANS+="${SVC_TLS_SANS:+,}${san}"
  done
  svc::tls_files
  chown "${DKR_SERVICE_UID}:${DKR_SERVICE_UID}" "${dir}/server.key" "${dir}/server.crt"
  chmod 0600 "${dir}/server.key"
  # The socket inside the container (the image's admin verbs) stays trusted; TCP is TLS only, from
  # 127.0.0.1, or from the clients that reach a publish address (as the image's own hba does).
  [[ "${DKR_PUBLISH}" == 127.0.0.1 ]] || from=all
  [[ "${SB_SERVICE}" == postgres ]] && sb::write_file "${dir}/pg_hba.conf" "local all all trust
hostssl all all ${from} scram-sha-256
" && chmod 0644 "${dir}/pg_hba.conf"
  return 0
}

# DKR_TLS_ARGS = the server arguments of a tls: true sandbox (after the image: the entrypoint passes
# them to the server, and the manifest's settings file stays settings only, which reload applies).
dkr::tls_args() {
  local t="${DKR_TLS_MOUNT}"
  DKR_TLS_ARGS=()
  [[ "${SB_TLS:-false}" == true ]] || return 0
  case "${SB_SERVICE}" in
    postgres)
      DKR_TLS_ARGS=(-c ssl=on -c "ssl_cert_file=${t}/server.crt" -c "ssl_key_file=${t}/server.key"
        -c ssl_min_protocol_version=TLSv1.2 -c "hba_file=${t}/pg_hba.conf")
      ;;
    mysql) DKR_TLS_ARGS=("--ssl-ca=${t}/ca.crt" "--ssl-cert=${t}/server.crt" "--ssl-key=${t}/server.key" --require-secure-transport=ON) ;;
    redis)
      DKR_TLS_ARGS=(--port 0 --tls-port "${SB_PORT}" --tls-cert-file "${t}/server.crt" --tls-key-file "${t}/server.key"
        --tls-ca-cert-file "${t}/ca.crt" --tls-auth-clients no --tls-protocols 'TLSv1.2 TLSv1.3')
      ;;
  esac
}

# A new container for the sandbox on its volume (made when missing; kept across containers). The
# password reaches the service as a file path, never as a value: docker's command line shows in `ps`.
# The host's network, the server bound to 127.0.0.1:PORT: it listens only where it is published
# (no bridge address another container could reach), and its users are scoped to 127.0.0.1, where
# iact and the applications connect from (docs/driver-protocol.md "Docker").
dkr::run_container() {
  local volume="${DKR_VOLUME}" out db_env
  local -a args
  [[ "${SB_DIR}" != *,* && "${SB_DIR}" != *:* ]] ||
    iact::die 2 "sandbox directory ${SB_DIR} contains ',' or ':', which docker mounts cannot express" "set IACT_SANDBOX_ROOT to a plain path"
  # Before the volume: a missing image must leave nothing behind that no record names.
  dkr::require_image
  docker volume create --label "iact.environment=${SB_ENV}" --label "iact.name=${SB_NAME}" --label iact.driver=docker \
    --label "iact.project=${DKR_PROJECT}" "${volume}" >/dev/null
  # --pull never: no registry is reachable here, and a missing image must not wait for one.
  # A remote engine gets the sandbox's files by docker cp before the first start (dkr::push_files).
  args=(run -d --pull never --name "${DKR_CONTAINER}" --init --restart no
    --label "iact.environment=${SB_ENV}" --label "iact.name=${SB_NAME}" --label iact.driver=docker --label "iact.project=${DKR_PROJECT}"
    --label "iact.spec_hash=${SB_SPEC_HASH}" --label "iact.service=${SB_SERVICE}" --label "iact.port=${SB_PORT}"
    --label "iact.config_hash=${DKR_CONFIG_HASH}" --stop-signal "SIG${IACT_CAT_STOP_SIGNAL[${SB_SERVICE}]}"
    --network host -e "IACT_PORT=${SB_PORT}"
    --mount "type=volume,source=${volume},target=${IACT_CAT_CONTAINER_DATA[${SB_SERVICE}]}"
    -e "IACT_CONFIG=${DKR_SANDBOX_MOUNT}/${IACT_CAT_CONFIG_FILE[${SB_SERVICE}]}")
  ((DKR_REMOTE)) || args+=(--mount "type=bind,source=${SB_DIR},target=${DKR_SANDBOX_MOUNT},readonly")
  # Where the server listens on the engine's host network (docs/remote-engines.md "Publish addresses").
  [[ "${DKR_PUBLISH}" == 127.0.0.1 ]] || args+=(-e "IACT_LISTEN=${DKR_PUBLISH}")
  ((DKR_REMOTE)) && args[0]=create args[1]=--quiet
  [[ -n "${SB_MEMORY}" ]] && args+=(--memory "${SB_MEMORY}")
  dkr::tls_args
  if [[ "${SB_TLS:-false}" == true ]]; then
    dkr::tls_files
    # A remote engine gets tls/ by docker cp (dkr::push_files).
    ((DKR_REMOTE)) || args+=(--mount "type=bind,source=${SB_DIR}/tls,target=${DKR_TLS_MOUNT},readonly")
  fi
  case "${SB_SERVICE}" in
    postgres) db_env=POSTGRES args+=(-e "POSTGRES_DB=${SB_DB}") ;;
    mysql) db_env=MARIADB args+=(-e "MARIADB_DATABASE=${SB_DB}") ;;
    redis) db_env=REDIS ;;
  esac
  [[ "${SB_SERVICE}" == redis ]] || args+=(-e "${db_env}_USER=${SB_USER}")
  args+=(-e "${db_env}_PASSWORD_FILE=${DKR_SANDBOX_MOUNT}/secrets/password" "${DKR_IMAGE}" "${DKR_TLS_ARGS[@]}")
  if ! out="$(docker "${args[@]}" 2>&1)"; then
    iact::die 1 "docker ${args[0]} for sandbox ${SB_NAME} failed: ${out//$'\n'/; }" "read the docker error above" start-failed
  fi
  ((DKR_REMOTE)) && dkr::start_container
  return 0
}

# docker start, the sandbox's files copied in first on a remote engine; an engine gone says so.
dkr::start_container() {
  local out
  dkr::push_files
  if ! out="$(docker start "${DKR_CONTAINER}" 2>&1 >/dev/null)"; then
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
    iact::die 1 "docker start for sandbox ${SB_NAME} failed: ${out//$'\n'/; }" "read: docker logs ${DKR_CONTAINER}" start-failed
  fi
}

# A real password login from the host through the published port (svc::login_works); without the
# host's client, the service answering there and a query inside the container.
dkr::login_works() {
  local ok=1
  # docker-proxy accepts before the service listens, then resets: a write there must not kill us (SIGPIPE).
  trap '' PIPE
  if [[ "${DKR_HOST_CLIENT}" == 1 ]]; then
    svc::login_works 2>/dev/null && ok=0
  else
    iact::service_answers "${SB_PORT}" "${SB_SERVICE}" && docker exec "${DKR_CONTAINER}" iact-service ready >/dev/null 2>&1 && ok=0
  fi
  trap - PIPE
  return "${ok}"
}

# DKR_HOST_CLIENT=1 when this machine has the client svc::login_works runs (SVC_BIN for psql).
dkr::find_client() {
  local candidate
  DKR_HOST_CLIENT=0
  case "${SB_SERVICE}" in
    postgres)
      # The binary itself, not Debian's perl wrapper on PATH (~40 ms per call).
      for candidate in /usr/lib/postgresql/*/bin/psql; do [[ -x "${candidate}" ]] && SVC_BIN="${candidate%/psql}"; done
      if [[ -z "${SVC_BIN:-}" ]] && candidate="$(command -v psql)"; then SVC_BIN="${candidate%/psql}"; fi
      [[ -n "${SVC_BIN:-}" ]] && DKR_HOST_CLIENT=1
      ;;
    mysql) command -v mariadb >/dev/null 2>&1 && DKR_HOST_CLIENT=1 ;;
    # svc::redis_tcp_auth speaks RESP over /dev/tcp; TLS needs redis-cli.
    redis) if [[ "${SB_TLS:-false}" != true ]] || command -v redis-cli >/dev/null 2>&1; then DKR_HOST_CLIENT=1; fi ;;
  esac
  return 0
}

dkr::log_tail() {
  docker logs --tail 15 "${DKR_CONTAINER}" 2>&1 | sed 's/^/  container: /' >&2 || true
}

# Polls a login every 100 ms; gives up early when the container has exited, with its log tail.
dkr::wait_ready() {
  local deadline=$((SECONDS + ${IACT_DOCKER_READY_TIMEOUT:-180})) next_check=$((SECONDS + 1)) state
  dkr::find_client
  until dkr::login_works; do
    if ((SECONDS >= next_check)); then
      next_check=$((SECONDS + 1))
      if ! state="$(docker container inspect --format '{{.State.Status}}' "${DKR_CONTAINER}" 2>/dev/null)"; then
        docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
        state=missing
      fi
      if [[ "${state}" != running && "${state}" != created && "${state}" != restarting ]]; then
        dkr::log_tail
        iact::die 1 "sandbox ${SB_NAME}: container ${DKR_CONTAINER} is ${state} before accepting logins" "read: docker logs ${DKR_CONTAINER}" start-failed
      fi
    fi
    if ((SECONDS >= deadline)); then
      dkr::log_tail
      iact::die 1 "sandbox ${SB_NAME}: no login on ${IACT_CONNECT_HOST}:${SB_PORT} after ${IACT_DOCKER_READY_TIMEOUT:-180}s" "read: docker logs ${DKR_CONTAINER}" login-failed
    fi
    sleep 0.1
  done
}

# Brings the container in line with sandbox.json: made when missing, new (same volume) when its
# config hash differs or RECREATE=1, started when stopped; then waits for a real login.
dkr::converge() {
  local recreate="${1:-0}"
  # The spec being applied, as sandbox.json will record it once the container accepted it.
  sb::observed_json
  dkr::config_hash <<<"${SB_JSON}"
  if [[ -n "${DKR_STATE}" ]] && ((recreate)) || [[ -n "${DKR_STATE}" && "${DKR_HASH}" != "${DKR_CONFIG_HASH}" ]]; then
    iact::info "sandbox ${SB_NAME}: new container ${DKR_CONTAINER} (data volume kept)"
    # A clean stop first: redis saves its data on SIGTERM, and `rm -f` would SIGKILL it unsaved.
    [[ "${DKR_STATE}" != running ]] || docker stop --time 30 "${DKR_CONTAINER}" >/dev/null
    docker rm -f "${DKR_CONTAINER}" >/dev/null
    DKR_STATE=''
  fi
  if [[ "${DKR_STATE}" != running ]] && iact::port_open "${SB_PORT}"; then
    sb::die_port_in_use
  fi
  if [[ -z "${DKR_STATE}" ]]; then
    dkr::run_container
  elif [[ "${DKR_STATE}" != running ]]; then
    dkr::start_container
  fi
  dkr::wait_ready
}

# `iact-service VERB` inside the running container (scripts/docker-images/): set-password and
# reload read the mounted secret and config file, so no value is on a command line; the password the
# server has now (redis needs it to log in) goes on stdin, and no file in the container keeps it.
dkr::exec_service() {
  local verb="$1" kind="$2" out
  # The secret and config file it reads, as they are now.
  dkr::push_files
  out="$(printf '%s\n' "${SVC_SERVER_PASSWORD:-${SB_PASSWORD}}" | docker exec -i "${DKR_CONTAINER}" iact-service "${verb}" 2>&1 >/dev/null)" ||
    iact::die 1 "sandbox ${SB_NAME}: ${verb} in the running container failed${out:+: ${out//$'\n'/; }}" \
      "fix the manifest's settings, or read: docker logs ${DKR_CONTAINER}" "${kind}"
}
