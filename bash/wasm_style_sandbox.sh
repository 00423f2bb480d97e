#!/usr/bin/env bash
# namespace driver (the script keeps its historical name): the same services as the lightweight driver,
# each in a bubblewrap sandbox (docs/namespace-sandbox.md): a root file system made of what
# capabilities.json grants (read-only /usr, its own data/logs/run), own pid/mount/ipc/uts/net/cgroup
# namespaces, a uid of its own with no capabilities, and a cgroup v1 memory limit. The service listens
# only on a unix socket in its sandbox directory; a socat forwarder exposes it on 127.0.0.1:PORT.
set -euo pipefail

SCRIPT_DIR="${BASH_SOURCE[0]%/*}"
[[ "${SCRIPT_DIR}" != "${BASH_SOURCE[0]}" ]] || SCRIPT_DIR=.
# shellcheck source=lib/sandbox.sh
source "${SCRIPT_DIR}/lib/sandbox.sh"
# shellcheck source=lib/namespace.sh
source "${SCRIPT_DIR}/lib/namespace.sh"

SB_DRIVER=namespace
SB_TCP=0
# tls: true: the server listens on 127.0.0.1:PORT inside its own network namespace too, where it
# speaks TLS itself; a relay there puts that on a unix socket (docs/namespace-sandbox.md "TLS").
# shellcheck disable=SC2034 # read by svc::listens_tcp (lib/services.sh, sourced by lib/sandbox.sh)
SB_TLS_TCP=1
SB_DESCRIPTION="Namespace sandboxes: the service runs in a bubblewrap sandbox built from its capabilities.json
(read-only /usr, its own data/logs/run, private /tmp, no host /run, /var, /home; own pid/mount/ipc/
uts/net/cgroup namespaces; a uid of its own, no capabilities) with a cgroup memory limit (memory: or
WASI_MEMORY_LIMIT), reachable on 127.0.0.1:PORT through a socat forwarder to its unix socket.
Needs root, bwrap and socat. WASI_USE_NAMESPACES=false runs the service without bubblewrap (its own
uid, socket + forwarder only)."
readonly CGROUP_MEMORY_ROOT=/sys/fs/cgroup/memory

# Pid 1 inside the namespace, already the sandbox's uid: sends its output to the server log (logs/
# is the service's, so root never opens a file there), forwards stop/reload signals to the service
# (an init without handlers would drop them) and reaps orphans. Arguments: the log, the relay socket
# and port ('' '' unless tls: true), then the service's argv, never code. The relay copies bytes
# between its unix socket and the server's TCP port in this network namespace: TLS stays end to end
# between the client and the server; it dies with the namespace when pid 1 exits.
# shellcheck disable=SC2016 # expanded by the inner bash
readonly NS_INIT='
exec >>"$1" 2>&1
relay="$2" port="$3"
shift 3
child=""
for sig in TERM INT HUP QUIT USR1 USR2; do trap "[ -n \"\$child\" ] && kill -s $sig \"\$child\" 2>/dev/null" "$sig"; done
if [ -n "$relay" ]; then
  (cd "${relay%/*}" && exec socat "UNIX-LISTEN:${relay##*/},fork,unlink-early,mode=600" "TCP:127.0.0.1:$port") &
fi
"$@" &
child=$!
status=0
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
exit "$status"'

drv::prerequisites() {
  iact::need_binary jq "apt-get install -y jq"
  # Not a binary, but a prerequisite of this machine like one: the fix is outside the manifest.
  ((EUID == 0)) || iact::die 1 "the namespace driver needs root (pid/net namespaces, cgroup memory limits)" "run as root (sudo), or use the lightweight driver (bash/lightweight_venv.sh)" missing-binary
  iact::need_binary bwrap "apt-get install -y bubblewrap (it builds the sandbox's file system and namespaces)"
  iact::need_binary setpriv "apt-get install -y util-linux"
  iact::need_binary socat "apt-get install -y socat (it exposes the sandbox on 127.0.0.1)"
  # TLS needs the server's own TCP port, which only its own network namespace keeps off the host's.
  if [[ "${SB_TLS:-false}" == true ]] && ! ns::use_namespaces; then
    iact::die 2 "sandbox ${SB_NAME} sets tls: true, which the namespace driver serves only with namespaces on" \
      "unset WASI_USE_NAMESPACES (or set it to true), or use the lightweight driver" usage
  fi
}

# The unix socket the host's forwarder connects to: the server's own, or for tls: true the relay's
# in run/ (NS_INIT), which reaches the server's TLS port in its network namespace.
ns::forward_socket() {
  if [[ "${SB_TLS:-false}" == true ]]; then
    REPLY="${SB_DIR}/run/tls-relay.sock"
  else
    svc::path IACT_CAT_SOCKET
  fi
}

# Root's own directory, not run/ (the service's): a pid it cannot forge.
drv::set_pidfile() { SB_PIDFILE="${SB_DIR}/ns.pid"; }

drv::own_dirs() { ns::own_dirs; }
drv::run_uid() { ns::claim_uid; }

# Host pid of the namespace's init (the child of bwrap), which relays signals to the service.
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

# Before a start: a forwarder or cgroup member left from a crash must not hold the port; the
# sandbox's uid, the ownership of its files and capabilities.json are made from the spec again.
drv::prepare() {
  [[ "${SB_SERVICE}" == none ]] && return 0
  sb::is_running || drv::stop_processes
  ns::own_data
  ns::own_dirs
  ns::own_conf
  ns::write_capabilities
}

drv::launch() {
  local cg='' limit=-1 relay=('' '')
  if [[ "${SB_TLS:-false}" == true ]]; then
    ns::forward_socket
    relay=("${REPLY}" "${SB_PORT}")
  fi
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
  ns::use_namespaces || iact::warn "WASI_USE_NAMESPACES is off: ${SB_NAME} runs without namespaces (its own uid still)"
  ns::bwrap_argv
  (
    sb::detach_fds
    # Join the cgroup first: everything the service forks inherits the limit.
    [[ -n "${cg}" ]] && printf '%s\n' "${BASHPID}" >"${cg}/cgroup.procs"
    exec setsid "${NS_ARGV[@]}" /bin/bash -c "${NS_INIT}" iact-init "${SB_DIR}/logs/server.log" "${relay[@]}" "${SVC_ARGV[@]}" \
      5<<<"${NS_PASSWD:-}" 6<<<"${NS_GROUP:-}"
  ) </dev/null >>"${SB_DIR}/bwrap.log" 2>&1 &
  SB_LAUNCH_PID=$!
  sb::write_file "${SB_DIR}/ns.pid" "${SB_LAUNCH_PID}"$'\n'
}

# The forwarder runs as the sandbox's uid too: a link planted in run/ leads it nowhere root could go.
drv::after_ready() {
  local sock fwpid
  ns::forward_socket
  sock="${REPLY}"
  (
    sb::detach_fds
    # From the socket's directory: a socat address splits at ':' and ',', which a path may hold.
    cd "${sock%/*}" || exit 1
    exec setsid setpriv "--reuid=${SB_RUN_UID}" "--regid=${SB_RUN_UID}" --clear-groups "${SVC_PRIV[@]}" -- \
      socat "TCP-LISTEN:${SB_PORT},bind=127.0.0.1,fork,reuseaddr" "UNIX-CONNECT:./${sock##*/}"
  ) </dev/null >>"${SB_DIR}/forwarder.log" 2>&1 &
  fwpid=$!
  sb::write_file "${SB_DIR}/forwarder.pid" "${fwpid}"$'\n'
  if ! iact::wait_for 10 iact::port_open "${SB_PORT}"; then
    drv::stop_processes
    iact::die 1 "the forwarder for ${SB_NAME} did not listen on 127.0.0.1:${SB_PORT}" "see ${SB_DIR}/forwarder.log" start-failed
  fi
  ns::record_pids "${fwpid}"
}

# capabilities.json gets the pids of the running sandbox (namespace, init, forwarder).
ns::record_pids() {
  local fwpid="$1" nspid init json
  nspid="$(sb::running_pid || true)"
  init="$(drv::service_pid || true)"
  json="$(jq --argjson nspid "${nspid:-null}" --argjson init "${init:-null}" --argjson forwarder "${fwpid}" \
    '. + {pids: {namespace: $nspid, init: $init, forwarder: $forwarder}}' "${SB_DIR}/capabilities.json")" ||
    iact::die 1 "could not update capabilities.json of ${SB_NAME}" "check ${SB_DIR}" io
  sb::write_file "${SB_DIR}/capabilities.json" "${json}"$'\n'
}

# Stops the service (through the namespace init), the forwarder and anything left in the cgroup.
drv::stop_processes() {
  local nspid init pid cg
  if nspid="$(sb::running_pid)"; then
    init="$(drv::service_pid || true)"
    proc::stop_pid "${init:-${nspid}}" "${IACT_CAT_STOP_SIGNAL[${SB_SERVICE}]}"
    # bwrap exits with its child; when pid 1 of a pid namespace exits, the kernel kills the rest.
    iact::wait_for 10 proc::gone "${nspid}" || kill -s KILL "${nspid}" 2>/dev/null || true
  fi
  # The whole group: socat forks a child per open connection.
  if proc::read_pidfile "${SB_DIR}/forwarder.pid"; then proc::stop_group "${REPLY}" TERM; fi
  cg="$(ns::cgroup)"
  if [[ -r "${cg}/cgroup.procs" ]]; then
    while IFS= read -r pid; do
      [[ -n "${pid}" ]] && kill -s KILL "${pid}" 2>/dev/null
    done <"${cg}/cgroup.procs"
  fi
  sb::remove_existing "${SB_DIR}/ns.pid" "${SB_DIR}/forwarder.pid"
  proc::wait_port_closed
}

# Destroy: the cgroup and the sandbox's uid claim go with it.
drv::cleanup() {
  local cg
  cg="$(ns::cgroup)"
  [[ -d "${cg}" ]] && rmdir "${cg}" 2>/dev/null
  ns::release_uid
  return 0
}

# info: the status plus what the sandbox may do (capabilities.json, the pids aside).
drv::cmd_info() {
  local caps
  sb::need_args info 1 1 NAME
  sb::locate "${ARG_POS[0]}"
  caps="${SB_DIR}/capabilities.json"
  [[ -f "${caps}" ]] || caps=/dev/null
  sb::cmd_info | jq --slurpfile caps "${caps}" '. + {capabilities: ($caps[0] // null | if . == null then null else del(.pids) end)}'
}

main() {
  sb::main "$@"
}

main "$@"
