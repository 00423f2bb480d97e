#!/usr/bin/env bash
# A private Docker engine for the docker driver on machines where none runs (README.md "Drivers": Debian's
# docker.io, no iptables; overlay2 storage where the kernel allows it, else vfs; IACT_DOCKER_STORAGE_DRIVER
# forces one). Data in $IACT_DOCKER_DATA_ROOT (/var/lib/iact-docker), socket in $IACT_DOCKER_RUN (/run/iact-docker). Usage: scripts/docker-engine.sh start|stop|status|host
#   start   reuse a reachable engine, else start dockerd on $IACT_DOCKER_RUN/docker.sock and wait for it
#   stop    stop the private engine (never an engine this script did not start)
#   status  exit 0 when an engine is reachable
#   host    print the DOCKER_HOST of the reachable engine
# `eval "$(scripts/docker-engine.sh start)"` exports DOCKER_HOST; bash/virtualize.sh finds the private
# socket by itself.
set -euo pipefail

readonly RUN_DIR="${IACT_DOCKER_RUN:-/run/iact-docker}"
readonly DATA_ROOT="${IACT_DOCKER_DATA_ROOT:-/var/lib/iact-docker}"
readonly SOCKET="${RUN_DIR}/docker.sock"
readonly PIDFILE="${RUN_DIR}/dockerd.pid"
readonly LOGFILE="${RUN_DIR}/dockerd.log"

engine::die() {
  printf 'error: %s\n' "$1" >&2
  [[ -n "${2:-}" ]] && printf '  fix: %s\n' "$2" >&2
  exit 1
}

engine::reachable() {
  local host="$1"
  DOCKER_HOST="${host}" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# The engine in use: $DOCKER_HOST, the system socket, then the private socket.
engine::find() {
  local candidate
  for candidate in "${DOCKER_HOST:-}" unix:///var/run/docker.sock "unix://${SOCKET}"; do
    [[ -n "${candidate}" ]] || continue
    if engine::reachable "${candidate}"; then
      printf '%s' "${candidate}"
      return 0
    fi
  done
  return 1
}

# overlay2 when the kernel and the data root's filesystem allow it (a container costs no copy of its image),
# else vfs, which works anywhere (README.md "Drivers") but copies the whole image for every container.
engine::storage_driver() {
  local probe
  if [[ -n "${IACT_DOCKER_STORAGE_DRIVER:-}" ]]; then
    printf '%s' "${IACT_DOCKER_STORAGE_DRIVER}"
    return 0
  fi
  probe="$(mktemp -d "${DATA_ROOT}/.overlay-probe.XXXXXX")"
  mkdir -p "${probe}/lower" "${probe}/upper" "${probe}/work" "${probe}/merged"
  if mount -t overlay overlay -o "lowerdir=${probe}/lower,upperdir=${probe}/upper,workdir=${probe}/work" "${probe}/merged" 2>/dev/null; then
    umount "${probe}/merged"
    rm -rf "${probe}"
    printf 'overlay2'
  else
    rm -rf "${probe}"
    printf 'vfs'
  fi
}

engine::private_pid() {
  local pid
  [[ -f "${PIDFILE}" ]] || return 1
  pid="$(<"${PIDFILE}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/${pid}/comm" 2>/dev/null)" == dockerd ]] || return 1
  printf '%s' "${pid}"
}

# Closes every descriptor above stderr in this (sub)shell: dockerd outlives its caller, and a lock or pipe
# it inherited (`flock LOCK docker-engine.sh start`) would stay held until it stops.
engine::close_inherited_fds() {
  local entry fd
  for entry in /proc/self/fd/*; do
    fd="${entry##*/}"
    if [[ ! "${fd}" =~ ^[0-9]+$ ]] || ((fd <= 2)); then continue; fi
    exec {fd}>&- 2>/dev/null || true
  done
}

engine::start() {
  local host pid="" deadline storage
  if host="$(engine::find)"; then
    printf 'info: docker engine reachable at %s\n' "${host}" >&2
    printf 'export DOCKER_HOST=%s\n' "${host}"
    return 0
  fi
  command -v docker >/dev/null 2>&1 || engine::die "the docker CLI is not installed" "apt-get install -y docker.io"
  command -v dockerd >/dev/null 2>&1 || engine::die "dockerd is not installed" "apt-get install -y docker.io"
  ((EUID == 0)) || engine::die "starting a private docker engine needs root" "run: sudo $0 start"
  if pid="$(engine::private_pid)"; then
    printf 'info: dockerd (pid %s) is starting; waiting for it\n' "${pid}" >&2
  else
    mkdir -p "${RUN_DIR}" "${DATA_ROOT}"
    chmod 0700 "${RUN_DIR}"
    rm -f "${SOCKET}"
    storage="$(engine::storage_driver)"
    # No iptables: ports are published by docker-proxy on 127.0.0.1.
    (
      engine::close_inherited_fds
      exec setsid dockerd \
        --iptables=false --ip-masq=false --ip6tables=false \
        --storage-driver="${storage}" \
        --data-root "${DATA_ROOT}" \
        --exec-root "${RUN_DIR}/exec" \
        --pidfile "${PIDFILE}" \
        --host "unix://${SOCKET}"
    ) </dev/null >>"${LOGFILE}" 2>&1 &
    pid="$!"
    disown
    printf 'info: started dockerd (pid %s, storage %s), log %s\n' "${pid}" "${storage}" "${LOGFILE}" >&2
  fi
  deadline=$((SECONDS + 60))
  until engine::reachable "unix://${SOCKET}"; do
    if ((SECONDS >= deadline)) || [[ ! -e "/proc/${pid}" ]]; then
      tail -n 20 "${LOGFILE}" >&2 || true
      engine::die "dockerd did not become ready" "read ${LOGFILE}"
    fi
    sleep 0.1
  done
  printf 'info: docker engine ready at unix://%s\n' "${SOCKET}" >&2
  printf 'export DOCKER_HOST=unix://%s\n' "${SOCKET}"
}

engine::stop() {
  local pid deadline
  if ! pid="$(engine::private_pid)"; then
    printf 'info: no private docker engine is running\n' >&2
    return 0
  fi
  kill -TERM "${pid}"
  deadline=$((SECONDS + 60))
  while [[ -e "/proc/${pid}" ]]; do
    ((SECONDS < deadline)) || engine::die "dockerd (pid ${pid}) did not stop" "kill -KILL ${pid}"
    sleep 0.1
  done
  printf 'info: stopped dockerd (pid %s)\n' "${pid}" >&2
}

main() {
  local verb="${1:-}" host
  case "${verb}" in
    start) engine::start ;;
    stop) engine::stop ;;
    status)
      if host="$(engine::find)"; then
        printf 'info: docker engine reachable at %s\n' "${host}" >&2
      else
        engine::die "no docker engine is reachable" "scripts/docker-engine.sh start"
      fi
      ;;
    host)
      host="$(engine::find)" || engine::die "no docker engine is reachable" "scripts/docker-engine.sh start"
      printf '%s\n' "${host}"
      ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)
      printf 'error: unknown verb %s\n  fix: use start, stop, status or host\n' "'${verb}'" >&2
      exit 2
      ;;
  esac
}

main "$@"
