#!/usr/bin/env bash
# namespace driver (the script keeps its historical name): the same services as the lightweight driver,
# each inside new pid/mount/ipc/uts/net namespaces with a cgroup v1 memory limit. The service
# listens only on a unix socket in its sandbox directory; a host-side socat forwarder exposes it
# on 127.0.0.1:PORT. capabilities.json records what the sandbox may listen on, read and write.
set -euo pipefail

SCRIPT_DIR="${BASH_SOURCE[0]%/*}"
[[ "${SCRIPT_DIR}" == "${BASH_SOURCE[0]}" ]] && SCRIPT_DIR=.
SCRIPT_DIR="$(cd "${SCRIPT_DIR}" && pwd)"
# shellcheck source=lib/common.sh
source "${SCRIPT_DIR}/lib/common.sh"
# shellcheck source=lib/sandbox.sh
source "${SCRIPT_DIR}/lib/sandbox.sh"
# shellcheck source=lib/services.sh
source "${SCRIPT_DIR}/lib/services.sh"
# shellcheck source=lib/process.sh
source "${SCRIPT_DIR}/lib/process.sh"

SB_SCRIPT="${0##*/}"
SB_DRIVER=namespace
SB_TCP=0
SB_DESCRIPTION="Namespace sandboxes: the service runs in its own pid/mount/ipc/uts/net namespaces with a
cgroup memory limit (memory: or WASI_MEMORY_LIMIT), reachable on 127.0.0.1:PORT through a
socat forwarder to its unix socket. Needs root, unshare and socat.
WASI_USE_NAMESPACES=false runs the service without namespaces (socket + forwarder only)."
readonly CGROUP_MEMORY_ROOT=/sys/fs/cgroup/memory

# Pid 1 inside the namespace: forwards stop/reload signals to the service (an init without
# handlers would drop them) and reaps orphans. Arguments are the service's argv, never code.
# shellcheck disable=SC2016 # expanded by the inner bash
readonly NS_INIT='
child=""
for sig in TERM INT HUP QUIT USR1 USR2; do trap "[ -n \"\$child\" ] && kill -s $sig \"\$child\" 2>/dev/null" "$sig"; done
"$@" &
child=$!
status=0
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
exit "$status"'

ns::use_namespaces() {
  local flag
  flag=''
  sb::setting WASI_USE_NAMESPACES && flag="${REPLY}"
  [[ ! "${flag,,}" =~ ^(0|false|no|off)$ ]]
}

drv::prerequisites() {
  iact::need_binary jq "apt-get install -y jq"
  # Not a binary, but a prerequisite of this machine like one: the fix is outside the manifest.
  ((EUID == 0)) || iact::die 1 "the namespace driver needs root (pid/net namespaces, cgroup memory limits)" "run as root (sudo), or use the lightweight driver (bash/lightweight_venv.sh)" missing-binary
  iact::need_binary unshare "apt-get install -y util-linux"
  iact::need_binary socat "apt-get install -y socat (it exposes the sandbox on 127.0.0.1)"
}

drv::set_pidfile() { SB_PIDFILE="${SB_DIR}/run/ns.pid"; }

# Host pid of the namespace's init (the child of unshare), which relays signals to the service.
drv::service_pid() {
  local nspid children=''
  nspid="$(sb::running_pid)" || return 1
  if [[ -r "/proc/${nspid}/task/${nspid}/children" ]]; then
    read -r children _ <"/proc/${nspid}/task/${nspid}/children" || true
  fi
  printf '%s' "${children:-${nspid}}"
}

drv::healthy() {
  svc::path IACT_CAT_SOCKET && [[ -S "${REPLY}" ]] && iact::service_answers "${SB_PORT}" "${SB_SERVICE}"
}

ns::cgroup() { printf '%s' "${CGROUP_MEMORY_ROOT}/iact/${SB_ENV}-${SB_NAME}"; }

# Before a start: a forwarder or cgroup member left from a crash must not hold the port.
drv::prepare() {
  if [[ "${SB_SERVICE}" != none ]] && ! sb::is_running; then
    drv::stop_processes
  fi
  return 0
}

drv::launch() {
  local cg='' limit=-1 init=()
  if [[ -d "${CGROUP_MEMORY_ROOT}" ]]; then
    cg="$(ns::cgroup)"
    mkdir -p "${cg}"
    if [[ -n "${SB_MEMORY}" ]]; then
      iact::memory_bytes "${SB_MEMORY}"
      limit="${REPLY}"
    fi
    # memsw (memory+swap) must be >= the memory limit at every step: write in both orders.
    { printf '%s\n' "${limit}" >"${cg}/memory.limit_in_bytes"; } 2>/dev/null || true
    if [[ -w "${cg}/memory.memsw.limit_in_bytes" ]]; then
      { printf '%s\n' "${limit}" >"${cg}/memory.memsw.limit_in_bytes"; } 2>/dev/null || true
    fi
    printf '%s\n' "${limit}" >"${cg}/memory.limit_in_bytes"
  else
    iact::warn "no cgroup v1 memory controller at ${CGROUP_MEMORY_ROOT}: memory is not limited"
  fi
  if ns::use_namespaces; then
    init=(unshare --pid --fork --mount-proc --ipc --uts --net --)
  else
    iact::warn "WASI_USE_NAMESPACES is off: ${SB_NAME} runs without namespaces"
  fi
  (
    sb::detach_fds
    # Join the cgroup first: everything the service forks inherits the limit.
    [[ -n "${cg}" ]] && printf '%s\n' "${BASHPID}" >"${cg}/cgroup.procs"
    exec setsid "${init[@]}" bash -c "${NS_INIT}" iact-init "${SVC_ARGV[@]}"
  ) </dev/null >>"${SB_DIR}/logs/server.log" 2>&1 &
  SB_LAUNCH_PID=$!
  printf '%s\n' "${SB_LAUNCH_PID}" >"${SB_DIR}/run/ns.pid"
}

drv::after_ready() {
  local sock fwpid
  svc::path IACT_CAT_SOCKET
  sock="${REPLY}"
  (
    sb::detach_fds
    exec setsid socat "TCP-LISTEN:${SB_PORT},bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:${sock}"
  ) </dev/null >>"${SB_DIR}/logs/forwarder.log" 2>&1 &
  fwpid=$!
  printf '%s\n' "${fwpid}" >"${SB_DIR}/run/forwarder.pid"
  if ! iact::wait_for 10 iact::port_open "${SB_PORT}"; then
    drv::stop_processes
    iact::die 1 "the forwarder for ${SB_NAME} did not listen on 127.0.0.1:${SB_PORT}" "see ${SB_DIR}/logs/forwarder.log" start-failed
  fi
  ns::write_capabilities "${fwpid}"
}

ns::write_capabilities() {
  local fwpid="$1" nspid init limit='null' socket
  nspid="$(sb::running_pid || true)"
  init="$(drv::service_pid || true)"
  if [[ -n "${SB_MEMORY}" ]]; then
    iact::memory_bytes "${SB_MEMORY}"
    limit="${REPLY}"
  fi
  svc::path IACT_CAT_SOCKET
  socket="${REPLY}"
  jq -n --arg name "${SB_NAME}" --arg environment "${SB_ENV}" --arg service "${SB_SERVICE}" --argjson port "${SB_PORT}" \
    --arg socket "${socket}" --arg dir "${SB_DIR}" --arg bindir "${SVC_SERVER_BIN%/*}" \
    --argjson limit "${limit}" --arg memory "${SB_MEMORY}" --arg cgroup "$(ns::cgroup)" \
    --argjson nspid "${nspid:-null}" --argjson init "${init:-null}" --argjson forwarder "${fwpid}" \
    --argjson namespaces "$(ns::use_namespaces && printf true || printf false)" '{
      sandbox: $name, environment: $environment, service: $service,
      listen: [{host: "127.0.0.1", port: $port, via: ("socat -> unix:" + $socket)}],
      network: (if $namespaces then "none (own net namespace; only the unix socket above)" else "host" end),
      namespaces: (if $namespaces then ["pid", "mount", "ipc", "uts", "net"] else [] end),
      read: [$bindir, "/usr/lib", "/usr/share", "/etc", $dir],
      write: [($dir + "/data"), ($dir + "/logs"), ($dir + "/run")],
      memory: {limit: (if $memory == "" then null else $memory end), limit_bytes: $limit, cgroup: $cgroup},
      pids: {namespace: $nspid, init: $init, forwarder: $forwarder}
    }' >"${SB_DIR}/capabilities.json"
}

# Stops the service (through the namespace init), the forwarder and anything left in the cgroup.
drv::stop_processes() {
  local nspid init pid cg
  if nspid="$(sb::running_pid)"; then
    init="$(drv::service_pid || true)"
    proc::stop_pid "${init:-${nspid}}" "${IACT_CAT_STOP_SIGNAL[${SB_SERVICE}]}"
    # unshare exits with its child; when pid 1 of a pid namespace exits, the kernel kills the rest.
    iact::wait_for 10 proc::gone "${nspid}" || kill -s KILL "${nspid}" 2>/dev/null || true
  fi
  # The whole group: socat forks a child per open connection.
  if proc::read_pidfile "${SB_DIR}/run/forwarder.pid"; then proc::stop_group "${REPLY}" TERM; fi
  cg="$(ns::cgroup)"
  if [[ -r "${cg}/cgroup.procs" ]]; then
    while IFS= read -r pid; do
      [[ -n "${pid}" ]] && kill -s KILL "${pid}" 2>/dev/null
    done <"${cg}/cgroup.procs"
  fi
  sb::remove_existing "${SB_DIR}/run/ns.pid" "${SB_DIR}/run/forwarder.pid"
  proc::wait_port_closed
}

drv::cleanup() {
  local cg
  cg="$(ns::cgroup)"
  [[ -d "${cg}" ]] && rmdir "${cg}" 2>/dev/null
  return 0
}

main() {
  sb::main "$@"
}

main "$@"
