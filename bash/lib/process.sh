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
  iact::wait_for "${timeout}" proc::gone "${pid}" || proc::kill_group "${pid}"
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
      proc::kill_group "${pid}"
      iact::wait_for 5 proc::gone "${pid}" || true
      return 0
    fi
    sleep 0.01
    ticks=$((ticks + 1))
    ((ticks % 100 == 0)) && kill -s "${sig}" "${pid}" 2>/dev/null
  done
  return 0
}

proc::gone() { ! iact::pid_alive "$1"; }

# proc::discard_pid PID SIGNAL: stop a server whose data is thrown away. KILL goes to its process
# group when it leads one (a redis child saving in the background dies with it); another signal
# (postgres QUIT: immediate shutdown) is sent as proc::stop_pid sends it, with its SIGKILL fallback.
proc::discard_pid() {
  local pid="$1" sig="$2"
  if [[ "${sig}" != KILL ]]; then
    proc::stop_pid "${pid}" "${sig}" 10
    return 0
  fi
  iact::pid_alive "${pid}" || return 0
  proc::kill_group "${pid}"
  iact::wait_for 5 proc::gone "${pid}" || iact::warn "pid ${pid} is still there after SIGKILL"
  return 0
}

# SIGKILL to PID's process group when PID leads one (the servers and forwarders are started with
# setsid), else to PID alone: never to a group PID merely belongs to.
proc::kill_group() {
  local pid="$1" stat='' pgid=''
  { IFS= read -r stat <"/proc/${pid}/stat"; } 2>/dev/null || return 0
  stat="${stat##*) }"
  read -r _ _ pgid _ <<<"${stat}"
  if [[ "${pgid}" == "${pid}" ]]; then
    kill -s KILL -- "-${pid}" 2>/dev/null || kill -s KILL "${pid}" 2>/dev/null || true
  else
    kill -s KILL "${pid}" 2>/dev/null || true
  fi
  return 0
}

# --- which process is this sandbox's (docs/driver-protocol.md "Processes") ------------------------
# A pidfile in a directory the service user can write proves nothing: a pid is acted on only once
# the process is shown to be the sandbox's own.

# REPLY = the pid listening on 127.0.0.1:PORT (or 0.0.0.0:PORT) over TCP; false when none. Among
# several holders of the socket (a redis forked for a save), the one whose parent is not one of them.
proc::port_listener() {
  local port="$1" inode line pids=() pid ppid stat
  proc::listen_inode "${port}" || return 1
  inode="${REPLY}"
  while IFS= read -r line; do
    line="${line#/proc/}"
    pids+=("${line%%/*}")
  done < <(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[${inode}\]" 2>/dev/null)
  for pid in "${pids[@]}"; do
    { IFS= read -r stat <"/proc/${pid}/stat"; } 2>/dev/null || continue
    stat="${stat##*) }"
    read -r _ ppid _ <<<"${stat}"
    [[ " ${pids[*]} " == *" ${ppid} "* ]] && continue
    REPLY="${pid}"
    return 0
  done
  return 1
}

# REPLY = the inode of the socket listening on 127.0.0.1:PORT (or 0.0.0.0:PORT) over TCP; false when none.
proc::listen_inode() {
  local port="$1" hex fields
  printf -v hex '%04X' "${port}"
  REPLY=''
  while read -r -a fields; do
    # local address, state 0A (LISTEN), inode
    [[ "${fields[3]}" == 0A && ( "${fields[1]}" == "0100007F:${hex}" || "${fields[1]}" == "00000000:${hex}" ) ]] || continue
    REPLY="${fields[9]}"
    break
  done </proc/net/tcp
  [[ -n "${REPLY}" && "${REPLY}" != 0 ]]
}

# True when PID itself holds the socket listening on PORT (one process's fds, not every process's).
proc::holds_listener() {
  local pid="$1" port="$2" found
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  proc::listen_inode "${port}" || return 1
  found="$(find "/proc/${pid}/fd" -maxdepth 1 -lname "socket:\[${REPLY}\]" -print -quit 2>/dev/null)"
  [[ -n "${found}" ]]
}

# True when PID works in DIR (its cwd), also when DIR was deleted under it (the kernel says "DIR (deleted)").
proc::works_in() {
  local pid="$1" dir="$2" cwd real
  [[ "/proc/${pid}/cwd" -ef "${dir}" ]] && return 0
  cwd="$(readlink "/proc/${pid}/cwd" 2>/dev/null)" || return 1
  [[ "${cwd}" == *" (deleted)" ]] || return 1
  real="$(cd "${dir%/*}" 2>/dev/null && pwd -P)" || real="${dir%/*}"
  [[ "${cwd}" == "${real}/${dir##*/} (deleted)" ]]
}

# For people: what PID runs (its executable and user), when a pidfile names something unexpected.
proc::describe() {
  local pid="$1" exe user
  exe="$(readlink "/proc/${pid}/exe" 2>/dev/null)" || exe='?'
  user="$(stat -c %U "/proc/${pid}" 2>/dev/null)" || user='?'
  printf '%s, run by %s' "${exe}" "${user}"
}
