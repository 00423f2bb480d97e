#!/bin/bash
# Entrypoint of iact/redis (scripts/docker-images.sh). REDIS_PASSWORD_FILE (or REDIS_PASSWORD) sets requirepass.
# The server binds 127.0.0.1:$IACT_PORT (the host's network: where the driver publishes it). Its config,
# password included, reaches redis-server on stdin: no file in the container keeps the password.
#   iact-service run [redis-server args]   run redis-server with the config on its stdin
#   iact-service password                  CONFIG SET requirepass from the secret file on the running server
#   iact-service reload                    CONFIG SET each setting of $IACT_CONFIG (mounted by the driver)
#   iact-service ready                     exit 0 once the server answers PING
#   iact-service save                      SAVE: dump.rdb in /data is current
# The admin verbs read the password the server has now from their stdin (one line; the driver sends it).
set -euo pipefail

readonly DATADIR=/data
readonly SOCKET=/dev/shm/redis.sock
# 127.0.0.1:$IACT_PORT on the host's network; without IACT_PORT (published through a bridge) 0.0.0.0:6379.
readonly PORT="${IACT_PORT:-6379}"
# IACT_LISTEN: the address of a remote engine's host (docs/remote-engines.md).
if [[ -n "${IACT_PORT:-}" ]]; then BIND="${IACT_LISTEN:-127.0.0.1}" PROTECTED=yes; else BIND='0.0.0.0' PROTECTED=no; fi
readonly BIND PROTECTED
readonly SVC_UID=999

svc::die() {
  printf 'iact-service: error: %s\n' "$1" >&2
  exit 1
}

svc::password() {
  local pw
  if [[ -n "${REDIS_PASSWORD_FILE:-}" ]]; then
    [[ -r "${REDIS_PASSWORD_FILE}" ]] || svc::die "password file ${REDIS_PASSWORD_FILE} is not readable"
    pw="$(<"${REDIS_PASSWORD_FILE}")"
  else
    pw="${REDIS_PASSWORD:-}"
  fi
  [[ -n "${pw}" ]] || svc::die "no password: set REDIS_PASSWORD_FILE"
  printf '%s' "${pw}"
}

# A double-quoted string as redis.conf and redis-cli parse it.
svc::quoted() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "${s}"
}

svc::run() {
  local pw conf
  pw="$(svc::password)"
  mkdir -p "${DATADIR}"
  chown "${SVC_UID}:${SVC_UID}" "${DATADIR}"
  [[ "${PORT}" =~ ^[0-9]+$ ]] || svc::die "IACT_PORT '${PORT}' is not a port"
  [[ "${BIND}" =~ ^[0-9A-Fa-f.:*]+$ ]] || svc::die "IACT_LISTEN is not an IP address"
  conf="$(
    printf 'bind %s\nport %s\nprotected-mode %s\ndir %s\ndbfilename dump.rdb\n' "${BIND}" "${PORT}" "${PROTECTED}" "${DATADIR}"
    printf 'unixsocket %s\nunixsocketperm 700\nsave 60 1\nappendonly no\n' "${SOCKET}"
    printf 'requirepass %s\n' "$(svc::quoted "${pw}")"
    # The manifest's settings (redis.conf lines written by the driver), read at start.
    if [[ -n "${IACT_CONFIG:-}" && -r "${IACT_CONFIG}" ]]; then cat "${IACT_CONFIG}"; fi
  )"
  # `redis-server -` reads its config from stdin: nothing written to disk or tmpfs.
  exec setpriv --reuid="${SVC_UID}" --regid="${SVC_UID}" --clear-groups -- redis-server - "$@" <<<"${conf}"
}

# The password the server has now: the first line of stdin (the driver's), else the secret file.
svc::current_password() {
  local pw=''
  if [[ ! -t 0 ]] && IFS= read -r pw && [[ -n "${pw}" ]]; then
    printf '%s' "${pw}"
  else
    svc::password
  fi
}

svc::cli() {
  REDISCLI_AUTH="${SVC_CURRENT}" redis-cli --no-auth-warning -s "${SOCKET}" "$@"
}

svc::set_password() {
  local pw reply
  pw="$(svc::password)"
  reply="$(printf 'CONFIG SET requirepass %s\n' "$(svc::quoted "${pw}")" | svc::cli)"
  [[ "${reply}" == OK ]] || svc::die "CONFIG SET requirepass failed"
}

# CONFIG SET for every "key value" line of $IACT_CONFIG, on the client's stdin (values never in argv).
svc::reload() {
  local line commands='' replies reply n=0
  [[ -n "${IACT_CONFIG:-}" && -r "${IACT_CONFIG}" ]] || return 0
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ -n "${line}" && "${line}" != \#* ]] || continue
    commands+="CONFIG SET ${line%% *} $(svc::quoted "${line#* }")"$'\n'
    n=$((n + 1))
  done <"${IACT_CONFIG}"
  ((n > 0)) || return 0
  replies="$(printf '%s' "${commands}" | svc::cli)"
  while IFS= read -r reply; do
    [[ "${reply}" == OK ]] || svc::die "redis refused a setting: ${reply}"
  done <<<"${replies}"
}

main() {
  local verb="${1:-run}"
  shift || true
  [[ "${verb}" == run ]] || SVC_CURRENT="$(svc::current_password)"
  case "${verb}" in
    run) svc::run "$@" ;;
    password) svc::set_password ;;
    reload) svc::reload ;;
    ready) [[ "$(svc::cli PING 2>/dev/null)" == PONG ]] ;;
    save) [[ "$(svc::cli SAVE)" == OK ]] ;;
    *) svc::die "unknown verb ${verb}" ;;
  esac
}

main "$@"
