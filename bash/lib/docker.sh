#!/usr/bin/env bash
# Docker helpers for bash/virtualize.sh. Sourced, never executed; needs bash/lib/common.sh.
# One container per sandbox (iact-<env>-<name>), one named volume for its data, labels for discovery.

[[ -n "${IACT_DOCKER_SH:-}" ]] && return 0
IACT_DOCKER_SH=1

# Where scripts/docker-engine.sh puts its private engine.
readonly IACT_PRIVATE_DOCKER_SOCKET="${IACT_DOCKER_RUN:-/run/iact-docker}/docker.sock"
# shellcheck disable=SC2034 # used by bash/virtualize.sh
readonly IACT_SECRETS_MOUNT=/run/secrets/iact

# Use $DOCKER_HOST, else the system engine, else the private engine of scripts/docker-engine.sh.
iact::docker_select_engine() {
  [[ -n "${DOCKER_HOST:-}" ]] && return 0
  if [[ ! -S /var/run/docker.sock && -S "${IACT_PRIVATE_DOCKER_SOCKET}" ]]; then
    export DOCKER_HOST="unix://${IACT_PRIVATE_DOCKER_SOCKET}"
  fi
}

iact::docker_no_engine() {
  iact::die 1 "no docker engine is reachable${DOCKER_HOST:+ at ${DOCKER_HOST}}" \
    "start one: scripts/docker-engine.sh start (a private dockerd; needs root and Debian's docker.io)"
}

iact::docker_require_cli() {
  command -v docker >/dev/null 2>&1 ||
    iact::die 1 "the docker CLI is not installed" "apt-get install -y docker.io, then scripts/docker-engine.sh start"
}

iact::docker_require_engine() {
  iact::docker_require_cli
  iact::docker_select_engine
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || iact::docker_no_engine
}

iact::docker_container_name() { printf 'iact-%s-%s' "$1" "$2"; }
iact::docker_volume_name() { printf 'iact-%s-%s-data' "$1" "$2"; }

# Port inside the container and where the image keeps its data.
iact::docker_service_port() {
  case "$1" in
    postgres) printf '5432' ;;
    mysql) printf '3306' ;;
    redis) printf '6379' ;;
  esac
}

iact::docker_data_path() {
  case "$1" in
    postgres) printf '/var/lib/postgresql/data' ;;
    mysql) printf '/var/lib/mysql' ;;
    redis) printf '/data' ;;
  esac
}

# Default image per service and version: the ones scripts/docker-images.sh builds.
iact::docker_default_image() {
  local service="$1" version="${2:-}"
  case "${service}:${version}" in
    postgres: | postgres:15 | postgres:15.*) printf 'iact/postgres:15' ;;
    postgres:*) printf 'iact/postgres:%s' "${version}" ;;
    mysql: | mysql:10.11 | mysql:10.11.*) printf 'iact/mariadb:10.11' ;;
    mysql:*) printf 'iact/mariadb:%s' "${version}" ;;
    redis: | redis:7 | redis:7.*) printf 'iact/redis:7' ;;
    redis:*) printf 'iact/redis:%s' "${version}" ;;
  esac
}

# The host's own psql binary (not Debian's perl wrapper: it costs ~40 ms per call), else PATH's.
iact::docker_psql() {
  local candidate found=""
  for candidate in /usr/lib/postgresql/*/bin/psql; do
    [[ -x "${candidate}" ]] && found="${candidate}"
  done
  [[ -n "${found}" ]] || found="$(command -v psql || true)"
  printf '%s' "${found}"
}

# JSON string literal of VALUE into the variable named VAR, without a subshell (status loops over many).
iact::docker_json_escape() {
  local -n iact_json_out="$1"
  local s="$2"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  # shellcheck disable=SC2034 # a nameref: assigns the caller's variable
  iact_json_out="\"${s}\""
}
