# shellcheck shell=bash
# What the bench scripts share: a clock, a median, a free port. Sourced, never run.

# Milliseconds since the epoch.
now_ms() { printf '%s' "$(($(date +%s%N) / 1000000))"; }

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
