# shellcheck shell=bash
# What the bench scripts share: clocks, a timed call, a median, a free port. Sourced, never run.

# Microseconds since the epoch (bash's own clock: no process).
now_us() { printf '%s' "${EPOCHREALTIME/./}"; }

# Milliseconds since the epoch.
now_ms() { printf '%s' "$(($(now_us) / 1000))"; }

# Microseconds as seconds with three decimals: 1234567 -> 1.234.
secs() { printf '%d.%03d' $(($1 / 1000000)) $((($1 % 1000000) / 1000)); }

# Wall time in microseconds of one command, its output discarded; a failure ends the bench with the
# command's stderr (kept in WORK, the bench's scratch directory).
timed_us() {
  local started
  started="$(now_us)"
  "$@" >/dev/null 2>"${WORK}/last.err" || {
    printf 'bench: failed: %s\n' "$*" >&2
    cat "${WORK}/last.err" >&2
    exit 1
  }
  printf '%s' $(($(now_us) - started))
}

# The same in milliseconds.
timed_ms() {
  local us
  us="$(timed_us "$@")" || exit 1
  printf '%s' $((us / 1000))
}

# The median of the numbers given as arguments.
median() {
  local -a sorted
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  printf '%s' "${sorted[$((${#sorted[@]} / 2))]}"
}

# A port on 127.0.0.1 that nothing listens on now (below the kernel's ephemeral range).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    { exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null || break
    exec 3>&-
  done
  printf '%s' "${port}"
}
