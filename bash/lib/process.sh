#!/usr/bin/env bash
# Stopping processes without leftovers: signal, wait (zombies count as gone), escalate to SIGKILL.

[[ -n "${IACT_PROCESS_SH:-}" ]] && return 0
IACT_PROCESS_SH=1

proc::port_closed() { ! iact::port_open "$1"; }

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
