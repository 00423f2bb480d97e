#!/usr/bin/env bash
# lightweight driver: each sandbox is a directory with its own port, data and credentials, and
# the real postgres / mariadbd / redis-server run from it (as their system user when we are root).
set -euo pipefail

SCRIPT_DIR="${BASH_SOURCE[0]%/*}"
[[ "${SCRIPT_DIR}" != "${BASH_SOURCE[0]}" ]] || SCRIPT_DIR=.
# shellcheck source=lib/sandbox.sh
source "${SCRIPT_DIR}/lib/sandbox.sh"
# shellcheck source=lib/tunnel.sh
source "${SCRIPT_DIR}/lib/tunnel.sh"

SB_DRIVER=lightweight
SB_TCP=1
SB_DESCRIPTION="Lightweight sandboxes: a directory per sandbox (data/, logs/, bin/activate, sandbox.json),
the real service binary listening on 127.0.0.1:PORT with a password."

drv::prerequisites() { iact::need_binary jq "apt-get install -y jq"; }
drv::set_pidfile() {
  svc::path IACT_CAT_PIDFILE || true
  SB_PIDFILE="${REPLY}"
}
drv::service_pid() { sb::running_pid; }
# Every server works in its data directory (postgres -D, mariadbd datadir, redis dir).
drv::pid_is_ours() { [[ "/proc/$1/cwd" -ef "${SB_DIR}/data" ]]; }
drv::prepare() { :; }
drv::cleanup() { :; }
drv::after_ready() { :; }
# A service with its own health check (a tunnel: a login through it) uses it; the others answer their protocol.
drv::healthy() {
  if declare -F "svc::${SB_SERVICE}_healthy" >/dev/null; then
    "svc::${SB_SERVICE}_healthy"
  else
    iact::service_answers "${SB_PORT}" "${SB_SERVICE}"
  fi
}

# setsid: the server survives this script and is out of its caller's process group.
drv::launch() {
  (
    sb::detach_fds
    # The server works in its data directory: how drv::pid_is_ours knows it (ssh does not chdir itself).
    cd -- "${SB_DIR}/data" || exit 1
    exec setsid "${SVC_ARGV[@]}"
  ) </dev/null >>"${SB_DIR}/logs/server.log" 2>&1 &
  SB_LAUNCH_PID=$!
  # A process that writes no pidfile of its own (ssh) records its pid here.
  svc::call launched "${SB_LAUNCH_PID}"
}

drv::stop_processes() {
  sb::find_server || return 0
  if ((${SB_DISCARD:-0})); then
    # destroy deletes the data next: stop at once, no checkpoint or save (docs/data.md "Speed").
    proc::discard_pid "${SB_PID}" "${IACT_CAT_DISCARD_SIGNAL[${SB_SERVICE}]}"
  else
    proc::stop_pid "${SB_PID}" "${IACT_CAT_STOP_SIGNAL[${SB_SERVICE}]}"
  fi
  proc::wait_port_closed
}

main() {
  sb::main "$@"
}

main "$@"
