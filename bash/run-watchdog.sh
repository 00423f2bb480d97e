#!/usr/bin/env bash
# The supervisor of one `iact run` (or withSandbox) sandbox: its server and the user's command die
# with iact, however iact ends (docs/commands.md "iact run"). iact starts it in a session of its own
# with a pipe on stdin and tells it, one line each:
#   pid PID    a process to stop (with its descendants) should iact die: the user's command
#   done       iact cleaned up itself: exit without doing anything
# End of input without `done` means iact is gone (SIGKILL included: the kernel closes the pipe).
# Then: SIGTERM to each process tree, SIGKILL after 5 s, and the driver's destroy of the sandbox.
# Usage: run-watchdog.sh OWNER_FILE SANDBOX_DIR [DRIVER_SCRIPT NAME ROOT ENVIRONMENT]
set -euo pipefail

# Every pid below PID (children first found by their parent in /proc/*/stat), PID included.
watchdog::tree() {
  local root="$1" stat pid ppid rest changed=1
  local -A in_tree=(["${root}"]=1)
  while ((changed)); do
    changed=0
    for stat in /proc/[0-9]*/stat; do
      { IFS= read -r rest <"${stat}"; } 2>/dev/null || continue
      pid="${stat#/proc/}"
      pid="${pid%/stat}"
      rest="${rest##*) }"
      read -r _ ppid _ <<<"${rest}"
      if [[ -n "${in_tree[${ppid}]:-}" && -z "${in_tree[${pid}]:-}" ]]; then
        in_tree["${pid}"]=1
        changed=1
      fi
    done
  done
  printf '%s\n' "${!in_tree[@]}"
}

# The start time of PID (clock ticks since boot, /proc/PID/stat field 22): with the pid, it names one
# process; a pid alone may be another process's by the time iact dies (pids are reused).
watchdog::started() {
  local stat=''
  { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ stat _ <<<"${stat}"
  printf '%s' "${stat}"
}

# PID exists and is not a zombie.
watchdog::running() {
  local stat=''
  { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat="${stat##*) }"
  [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

watchdog::alive() {
  local pid
  for pid in "$@"; do
    [[ -e "/proc/${pid}" ]] && return 0
  done
  return 1
}

main() {
  # The iact that started this watchdog (its parent until it dies).
  local owner="$1" dir="$2" script="${3:-}" name="${4:-}" root="${5:-}" env_name="${6:-run}" line starter="${PPID}" started
  local -a watched=() doomed=()
  while IFS= read -r line; do
    case "${line}" in
      done) exit 0 ;;
      pid\ *)
        # Told while the command runs: its start time now proves it is the same process later.
        if [[ "${line#pid }" =~ ^[0-9]+$ ]] && started="$(watchdog::started "${line#pid }")"; then
          watched+=("${line#pid }:${started}")
        fi
        ;;
    esac
  done
  # iact is gone: first the user's command (it may still be writing to the server), then the sandbox.
  for line in "${watched[@]+"${watched[@]}"}"; do
    [[ "$(watchdog::started "${line%%:*}")" == "${line#*:}" ]] || continue
    mapfile -t -O "${#doomed[@]}" doomed < <(watchdog::tree "${line%%:*}")
  done
  if ((${#doomed[@]} > 0)); then
    kill -TERM "${doomed[@]}" 2>/dev/null || true
    for _ in {1..50}; do
      watchdog::alive "${doomed[@]}" || break
      sleep 0.1
    done
    kill -KILL "${doomed[@]}" 2>/dev/null || true
  fi
  # A warm spare claimed by a run (docs/data.md "Warm spares"): its owner record names that run, alive, now.
  if [[ -r "${owner}" ]] && { IFS= read -r line <"${owner}"; } 2>/dev/null && [[ "${line}" =~ \"pid\":([0-9]+) ]] &&
    [[ "${BASH_REMATCH[1]}" != "${starter}" ]] && watchdog::running "${BASH_REMATCH[1]}"; then
    exit 0
  fi
  if [[ -n "${script}" && -n "${name}" ]]; then
    (cd "${root}" && IACT_SANDBOX_ROOT="${root}" IACT_DRIVER_ERRORS='' bash "${script}" destroy "${name}" --yes --env "${env_name}") </dev/null >/dev/null 2>&1 || true
  fi
  rm -rf -- "${dir}"
  rm -f -- "${owner}"
}

main "$@"
