#!/usr/bin/env bash
# Stopping processes without leftovers: signal, wait (zombies count as gone), escalate to SIGKILL.

[[ -n "${IACT_PROCESS_SH:-}" ]] && return 0
IACT_PROCESS_SH=1

proc::port_closed() { ! iact::port_open "$1"; }

# REPLY = the pid in FILE's first line (digits; no subprocess), false when there is none.
proc::read_pidfile() {
  local pid=''
  REPLY=''
  [[ -n "$1" && -r "$1" ]] || return 1
  { IFS= read -r pid <"$1"; } 2>/dev/null || [[ -n "${pid}" ]] || return 1
  pid="${pid//[[:space:]]/}"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  REPLY="${pid}"
}

# After a stop: the sandbox's port is free again within 10 s, or a warning says it is not.
proc::wait_port_closed() {
  iact::wait_for 10 proc::port_closed "${SB_PORT}" || iact::warn "port ${SB_PORT} is still open after stopping ${SB_NAME}"
}

# proc::stop_group PID SIGNAL [TIMEOUT]: SIGNAL to the process group of PID (a leader that forks
# a child per connection, like socat), SIGKILL to it after TIMEOUT seconds.
proc::stop_group() {
  local pid="$1" sig="$2" timeout="${3:-5}"
  iact::pid_alive "${pid}" || return 0
  kill -s "${sig}" -- "-${pid}" 2>/dev/null || kill -s "${sig}" "${pid}" 2>/dev/null || true
  iact::wait_for "${timeout}" proc::gone "${pid}" || kill -s KILL -- "-${pid}" 2>/dev/null || kill -s KILL "${pid}" 2>/dev/null || true
  return 0
}

# proc::stop_pid PID SIGNAL [TIMEOUT]: SIGNAL, repeated every second (a signal sent during a
# server's startup can be lost), then SIGKILL to its process group after TIMEOUT seconds.
proc::stop_pid() {
  local pid="$1" sig="$2" timeout="${3:-30}" deadline ticks=0
  iact::pid_alive "${pid}" || return 0
  kill -s "${sig}" "${pid}" 2>/dev/null || true
  # A stopped (SIGSTOP, ^Z) server would hold the signal pending until the timeout's SIGKILL.
  kill -s CONT "${pid}" 2>/dev/null || true
  deadline=$((SECONDS + timeout))
  while iact::pid_alive "${pid}"; do
    if ((SECONDS >= deadline)); then
      iact::warn "pid ${pid} ignored SIG${sig} for ${timeout}s; killing it"
      kill -s KILL -- "-${pid}" 2>/dev/null || kill -s KILL "${pid}" 2>/dev/null || true
      iact::wait_for 5 proc::gone "${pid}" || true
      return 0
    fi
    sleep 0.02
    ticks=$((ticks + 1))
    ((ticks % 50 == 0)) && kill -s "${sig}" "${pid}" 2>/dev/null
  done
  return 0
}

proc::gone() { ! iact::pid_alive "$1"; }
