#!/usr/bin/env bash
# What only the namespace driver does (docs/namespace-sandbox.md): a uid of the sandbox's own,
# capabilities.json written from the spec and the catalogue, and the bubblewrap command line built
# from that file, so that what capabilities.json says is what the sandbox gets.
# Sourced after common.sh, sandbox.sh and services.sh; reads the SB_* and SVC_* globals.

[[ -n "${IACT_NAMESPACE_SH:-}" ]] && return 0
IACT_NAMESPACE_SH=1

# Per-sandbox uids (gid = uid) come from this range, far above the system's and subuid ranges.
readonly NS_UID_BASE=1879048192
readonly NS_UID_SPAN=1048576
# Claims: one symlink per uid, named by the uid, pointing at the sandbox directory that holds it.
readonly NS_UID_DIR="${IACT_NS_UID_DIR:-/var/lib/iact/namespace-uids}"
# Host files every server needs besides /usr: the loader's cache and the local time zone.
readonly NS_SYSTEM_READS='/etc/ld.so.cache /etc/localtime'

# SB_RUN_UID = this sandbox's uid: its claim in NS_UID_DIR, made now when it has none. The first
# slot tried is a hash of the directory, so a sandbox finds its own claim at once.
ns::claim_uid() {
  local start i uid target lockfd
  [[ -n "${SB_RUN_UID:-}" ]] && return 0
  (umask 077 && mkdir -p -- "${NS_UID_DIR}")
  [[ -d "${NS_UID_DIR}" && ! -L "${NS_UID_DIR}" ]] || iact::die 1 "${NS_UID_DIR} is not a directory" "remove it; iact makes it again" io
  start="$(cksum <<<"${SB_DIR}")"
  start="${start%% *}"
  exec {lockfd}>"${NS_UID_DIR}/.lock"
  flock -w 30 "${lockfd}" || iact::die 1 "timed out waiting for ${NS_UID_DIR}/.lock" "remove it if no other iact runs" locked
  for ((i = 0; i < 4096; i++)); do
    uid=$((NS_UID_BASE + (start + i) % NS_UID_SPAN))
    target="$(readlink -- "${NS_UID_DIR}/${uid}" 2>/dev/null)" || target=''
    if [[ "${target}" == "${SB_DIR}" ]]; then
      SB_RUN_UID="${uid}"
      break
    fi
    # A claim whose sandbox directory is gone (deleted behind iact's back) is free again.
    [[ -n "${target}" && -d "${target}" ]] && continue
    # A uid the host's own users or groups have is never shared with a sandbox.
    getent passwd "${uid}" >/dev/null 2>&1 && continue
    getent group "${uid}" >/dev/null 2>&1 && continue
    rm -f -- "${NS_UID_DIR}/${uid}"
    ln -s -- "${SB_DIR}" "${NS_UID_DIR}/${uid}"
    SB_RUN_UID="${uid}"
    break
  done
  exec {lockfd}>&-
  [[ -n "${SB_RUN_UID:-}" ]] || iact::die 1 "no free sandbox uid in ${NS_UID_BASE}..$((NS_UID_BASE + NS_UID_SPAN - 1))" "destroy sandboxes no longer needed, or remove stale links in ${NS_UID_DIR}" io
}

# Gives the uid back on destroy (only a claim that names this directory).
ns::release_uid() {
  local link
  [[ -d "${NS_UID_DIR}" ]] || return 0
  for link in "${NS_UID_DIR}"/[0-9]*; do
    [[ -L "${link}" && "$(readlink -- "${link}")" == "${SB_DIR}" ]] && rm -f -- "${link}"
  done
  return 0
}

# The sandbox directory is root's (sandbox.json, .meta, secrets/, bin/, capabilities.json and the
# pidfiles stay out of the service's reach); it may traverse it (group) to its own data, logs and
# run, and read conf/ (mounted read-only inside).
ns::own_dirs() {
  ns::claim_uid
  chown "root:${SB_RUN_UID}" "${SB_DIR}" "${SB_DIR}/conf"
  chmod 0710 "${SB_DIR}"
  chmod 0750 "${SB_DIR}/conf"
  chown "${SB_RUN_UID}:${SB_RUN_UID}" "${SB_DIR}/data" "${SB_DIR}/logs" "${SB_DIR}/run"
}

# Files the service must read in conf/ are root's, readable by its group, never writable by it.
ns::own_conf() {
  local f
  for f in "${SB_DIR}"/conf/*; do
    [[ -f "${f}" && ! -L "${f}" ]] || continue
    chown "root:${SB_RUN_UID}" "${f}"
    chmod 0640 "${f}"
  done
}

# A data directory copied from a template belongs to its maker: it becomes the sandbox's.
ns::own_data() {
  local owner=''
  ns::claim_uid
  owner="$(stat -c %u -- "${SB_DIR}/data")"
  [[ "${owner}" == "${SB_RUN_UID}" ]] && return 0
  chown -R -P "${SB_RUN_UID}:${SB_RUN_UID}" "${SB_DIR}/data"
}

# Directories the server writes: data, logs, and those of its socket and pidfile (the catalogue's).
ns::write_dirs() {
  local rel dirs=("${SB_DIR}/data" "${SB_DIR}/logs") d seen=' '
  for rel in "${IACT_CAT_SOCKET[${SB_SERVICE}]:-}" "${IACT_CAT_PIDFILE[${SB_SERVICE}]:-}"; do
    [[ "${rel}" == */* ]] && dirs+=("${SB_DIR}/${rel%%/*}")
  done
  NS_WRITE=()
  for d in "${dirs[@]}"; do
    [[ "${seen}" == *" ${d} "* ]] && continue
    seen+="${d} "
    NS_WRITE+=("${d}")
  done
}

# Paths the server reads: /usr (binaries, libraries, shared data), the server's own bin dir when
# it lives elsewhere, the config file's directory when it is not one it writes, and NS_SYSTEM_READS.
ns::read_paths() {
  local p conf
  NS_READ=(/usr)
  [[ "${SVC_SERVER_BIN}" == /usr/* ]] || NS_READ+=("${SVC_SERVER_BIN%/*}")
  conf="${IACT_CAT_CONFIG_FILE[${SB_SERVICE}]:-}"
  if [[ "${conf}" == */* && " ${NS_WRITE[*]} " != *" ${SB_DIR}/${conf%%/*} "* ]]; then
    NS_READ+=("${SB_DIR}/${conf%%/*}")
  fi
  # tls: true: the certificates and the key the server reads (made by svc::tls_files before a start).
  [[ "${SB_TLS:-false}" == true ]] && NS_READ+=("${SB_DIR}/tls")
  for p in ${NS_SYSTEM_READS}; do
    [[ -e "${p}" ]] && NS_READ+=("${p}")
  done
  return 0
}

# capabilities.json, written before every start from the spec, the catalogue and the claimed uid;
# ns::bwrap_argv builds the sandbox from this file. pids are added once the server runs.
ns::write_capabilities() {
  local limit=null socket namespaces=true redis_max=null json
  ns::use_namespaces || namespaces=false
  if [[ -n "${SB_MEMORY}" ]]; then
    iact::memory_bytes "${SB_MEMORY}"
    limit="${REPLY}"
  fi
  [[ "${SB_SERVICE}" == redis ]] && svc::redis_maxmemory && redis_max="${REPLY:-null}"
  svc::path IACT_CAT_SOCKET
  socket="${REPLY}"
  [[ "${SB_TLS:-false}" == true ]] && socket="${SB_DIR}/run/tls-relay.sock -> TLS on 127.0.0.1:${SB_PORT} in the sandbox's network namespace"
  ns::write_dirs
  ns::read_paths
  json="$(jq -n --arg name "${SB_NAME}" --arg environment "${SB_ENV}" --arg service "${SB_SERVICE}" --argjson port "${SB_PORT}" \
    --arg socket "${socket}" --argjson uid "${SB_RUN_UID}" --arg user "${SB_OS_USER}" \
    --argjson limit "${limit}" --arg memory "${SB_MEMORY}" --arg cgroup "$(ns::cgroup)" --argjson maxmemory "${redis_max}" \
    --argjson namespaces "${namespaces}" --args '{
      sandbox: $name, environment: $environment, service: $service,
      user: {uid: $uid, gid: $uid, name: $user, capabilities: [], no_new_privs: true},
      listen: [{host: "127.0.0.1", port: $port, via: ("socat -> unix:" + $socket)}],
      network: (if $namespaces then "none" else "host" end),
      namespaces: (if $namespaces then ["pid", "mount", "ipc", "uts", "net", "cgroup"] else [] end),
      read: $ARGS.positional[0:($ARGS.positional | index("@write"))],
      write: $ARGS.positional[(($ARGS.positional | index("@write")) + 1):],
      private: (if $namespaces then ["/tmp", "/dev/shm"] else [] end),
      memory: ({limit: (if $memory == "" then null else $memory end), limit_bytes: $limit, cgroup: $cgroup}
        + (if $maxmemory == null then {} else {maxmemory: $maxmemory} end))
    }' "${NS_READ[@]}" @write "${NS_WRITE[@]}")" || iact::die 1 "could not write capabilities.json of ${SB_NAME}" "check jq and ${SB_DIR}" io
  sb::write_file "${SB_DIR}/capabilities.json" "${json}"$'\n'
}

# NS_ARGV = the command that runs SVC_ARGV as capabilities.json says: bubblewrap with a root file
# system made of its read (read-only) and write paths, private /tmp and /dev/shm, /proc of its own
# pid namespace, no network but loopback, then the sandbox's uid with no capabilities and no_new_privs.
ns::bwrap_argv() {
  local caps="${SB_DIR}/capabilities.json" uid kind path
  local -a drop
  NS_ARGV=()
  uid="$(jq -r '.user.uid' "${caps}")"
  # The uid is dropped inside, after the mounts: CAP_SETUID/SETGID/SETPCAP are the only ones bwrap keeps;
  # setpriv clears them and the bounding set (SETPCAP lets it) before the server runs.
  drop=(/usr/bin/setpriv "--reuid=${uid}" "--regid=${uid}" --clear-groups --bounding-set=-all --inh-caps=-all --no-new-privs --)
  if ! ns::use_namespaces; then
    # On the host's file system the server may need CAP_DAC_READ_SEARCH to reach its directory.
    NS_ARGV=(/usr/bin/setpriv "--reuid=${uid}" "--regid=${uid}" --clear-groups "${SVC_PRIV[@]}" --)
    return 0
  fi
  NS_ARGV=(bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --new-session --as-pid-1
    --cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID --cap-add CAP_SETPCAP
    --perms 0755 --dir /etc --proc /proc --dev /dev --perms 1777 --tmpfs /tmp --perms 1777 --tmpfs /dev/shm
    --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib)
  [[ -e /usr/lib64 ]] && NS_ARGV+=(--symlink usr/lib64 /lib64)
  # The parents of every bound path exist inside as bare 0755 directories, made before the mounts.
  while IFS=$'\t' read -r kind path; do
    case "${kind}" in
      dir) NS_ARGV+=(--perms 0755 --dir "${path}") ;;
      ro) NS_ARGV+=(--ro-bind "${path}" "${path}") ;;
      rw) NS_ARGV+=(--bind "${path}" "${path}") ;;
    esac
  done < <(jq -r '
      def parents: split("/")[1:-1] | [foreach .[] as $c (""; . + "/" + $c)] | .[];
      ([.read[], .write[]] | map(select(. != "/usr" and (startswith("/usr/") | not)) | parents) | unique
        | map(select(. != "/etc" and . != "/tmp" and . != "/dev" and . != "/proc"))[] | "dir\t\(.)"),
      (.read[] | "ro\t\(.)"), (.write[] | "rw\t\(.)")' "${caps}")
  # Its own user and group database: the service's name for its uid, nothing of the host's.
  NS_ARGV+=(--perms 0644 --ro-bind-data 5 /etc/passwd --perms 0644 --ro-bind-data 6 /etc/group --chdir / -- "${drop[@]}")
  # shellcheck disable=SC2034 # fd 5 and 6 of drv::launch
  NS_PASSWD="${SB_OS_USER}:x:${uid}:${uid}:iact sandbox ${SB_NAME}:/nonexistent:/usr/sbin/nologin"
  # shellcheck disable=SC2034 # fd 6 of drv::launch
  NS_GROUP="${SB_OS_USER}:x:${uid}:"
}

ns::use_namespaces() {
  local flag
  flag=''
  sb::setting WASI_USE_NAMESPACES && flag="${REPLY}"
  [[ ! "${flag,,}" =~ ^(0|false|no|off)$ ]]
}

# The sandbox's memory cgroup. Cgroups are machine-wide and stop kills what is in it, so the name carries
# a hash of the sandbox directory: another project's sandbox of the same environment and name has its own.
ns::cgroup() {
  local dir="${SB_DIR}" hash=-3750763034362895579 i c LC_ALL=C
  # FNV-1a, 64 bits, in bash arithmetic: no process per call (status asks for it per sandbox).
  for ((i = 0; i < ${#dir}; i++)); do
    printf -v c '%d' "'${dir:i:1}"
    hash=$(((hash ^ c) * 1099511628211))
  done
  printf '%s/iact/%s-%s-%012x' "${CGROUP_MEMORY_ROOT}" "${SB_ENV}" "${SB_NAME}" "$((hash & 0xffffffffffff))"
}
