#!/bin/bash
# Entrypoint of iact/postgres (scripts/docker-images.sh). Same environment as the official image:
# POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD).
#   iact-service run [postgres args]   copy the template cluster on first start, converge role/database/password, run postgres
#   iact-service password              set the password from the secret file on the running server
#   iact-service reload                the settings of $IACT_CONFIG (mounted by the driver) reach the running server
#   iact-service ready                 exit 0 once the server accepts queries
set -euo pipefail

# The image's one major is on its PATH (scripts/docker-images.sh: /usr/lib/postgresql/MAJOR/bin).
PGBIN="$(command -v postgres)" || { printf 'iact-service: error: no postgres on PATH (%s)\n' "${PATH}" >&2; exit 1; }
PGBIN="${PGBIN%/postgres}"
readonly PGBIN
readonly SOCKDIR=/run/postgresql
readonly SVC_UID=999
readonly TEMPLATE=/usr/share/iact/pgdata-template
# The host's network: the server listens on 127.0.0.1:$IACT_PORT only, where the driver publishes it,
# and takes password logins from there only. Without IACT_PORT (a driver that publishes through a
# bridge) it listens on the container's addresses at 5432, as it did before.
readonly PORT="${IACT_PORT:-5432}"
# On a remote engine the driver sets IACT_LISTEN (docs/remote-engines.md): the server listens there, and
# password logins come from the clients that reach it.
if [[ -n "${IACT_PORT:-}" ]]; then LISTEN="${IACT_LISTEN:-127.0.0.1}" HBA_FROM=127.0.0.1/32; else LISTEN='*' HBA_FROM=all; fi
[[ "${LISTEN}" == 127.0.0.1 || "${LISTEN}" == '*' ]] || HBA_FROM=all
readonly LISTEN HBA_FROM
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
DB_USER="${POSTGRES_USER:-postgres}"
DB_NAME="${POSTGRES_DB:-${DB_USER}}"

svc::die() {
  printf 'iact-service: error: %s\n' "$1" >&2
  exit 1
}

svc::password() {
  local pw
  if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
    [[ -r "${POSTGRES_PASSWORD_FILE}" ]] || svc::die "password file ${POSTGRES_PASSWORD_FILE} is not readable"
    pw="$(<"${POSTGRES_PASSWORD_FILE}")"
  else
    pw="${POSTGRES_PASSWORD:-}"
  fi
  [[ -n "${pw}" ]] || svc::die "no password: set POSTGRES_PASSWORD_FILE"
  printf '%s' "${pw}"
}

svc::as_service() {
  setpriv --reuid="${SVC_UID}" --regid="${SVC_UID}" --clear-groups -- "$@"
}

# Role (created when missing, superuser as in the official image) and its password; standard_conforming_strings
# is on, so only quotes need doubling. One statement per line: single-user mode ends statements at newlines.
# shellcheck disable=SC2016 # $iact$ is SQL dollar quoting
svc::role_sql() {
  local pw="$1" role="${DB_USER//\"/\"\"}" literal="${DB_USER//\'/\'\'}"
  # Never logged, whatever log_statement is set to, nor kept by pg_stat_statements: the password stays
  # out of the server log and the statement statistics.
  printf "SET log_statement = 'none'; SET log_min_duration_statement = -1; SET log_min_error_statement = 'panic';\n"
  printf "SET pg_stat_statements.track = 'none'; SET pg_stat_statements.track_utility = off;\n"
  printf 'DO $iact$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\''%s'\'') THEN CREATE ROLE "%s" SUPERUSER; END IF; END $iact$;\n' "${literal}" "${role}"
  printf 'ALTER ROLE "%s" WITH LOGIN PASSWORD '\''%s'\'';\n' "${role}" "${pw//\'/\'\'}"
}

# What was last applied (user, database, password), salted and hashed: skip single-user mode when unchanged.
svc::applied_mark() {
  printf 'iact\n%s\n%s\n%s' "${DB_USER}" "${DB_NAME}" "$1" | sha256sum | cut -c1-64
}

svc::converge() {
  local pw="$1" mark
  mark="$(svc::applied_mark "${pw}")"
  [[ -f "${PGDATA}/iact-applied" && "$(<"${PGDATA}/iact-applied")" == "${mark}" ]] && return 0
  {
    svc::role_sql "${pw}"
    # Fails harmlessly when the database exists; single-user mode goes on with the next line.
    # FILE_COPY: a small template copied as files beats WAL-logging it block by block.
    [[ "${DB_NAME}" == postgres ]] || printf 'CREATE DATABASE "%s" OWNER "%s" STRATEGY = FILE_COPY;\n' "${DB_NAME//\"/\"\"}" "${DB_USER//\"/\"\"}"
  } | svc::as_service "${PGBIN}/postgres" --single -D "${PGDATA}" -c fsync=off -c log_min_messages=fatal postgres >/dev/null 2>&1 ||
    svc::die "could not set up role and database in single-user mode"
  # fsync=off above (1.6 s -> 0.3 s); one sync makes it durable before the server starts.
  sync
  printf '%s' "${mark}" >"${PGDATA}/iact-applied"
  chown "${SVC_UID}:${SVC_UID}" "${PGDATA}/iact-applied"
  chmod 0600 "${PGDATA}/iact-applied"
}

# $IACT_CONFIG (root's, mode 0600 on the host) as $PGDATA/iact.conf, which postgresql.conf includes
# last: the server (uid 999) reads it at start and on pg_reload_conf(), never as -c arguments.
svc::install_config() {
  local main="${PGDATA}/postgresql.conf" include="include_if_exists = 'iact.conf'"
  if [[ -n "${IACT_CONFIG:-}" && -r "${IACT_CONFIG}" ]]; then cat "${IACT_CONFIG}" >"${PGDATA}/iact.conf"; else : >"${PGDATA}/iact.conf"; fi
  chown "${SVC_UID}:${SVC_UID}" "${PGDATA}/iact.conf"
  chmod 0600 "${PGDATA}/iact.conf"
  # A volume made by an image without the include line gets it once.
  [[ "$(<"${main}")" == *"${include}"* ]] || printf '\n%s\n' "${include}" >>"${main}"
}

# New settings, checked by pg_file_settings before the server is told: a value it would refuse on
# reload (it logs that and keeps the old one) fails here, and the previous file is put back.
svc::reload() {
  local previous errors
  previous="$(<"${PGDATA}/iact.conf")"
  svc::install_config
  errors="$(svc::psql -tA -c 'SELECT name || '\'': '\'' || error FROM pg_file_settings WHERE error IS NOT NULL AND name IS NOT NULL')"
  if [[ -n "${errors}" ]]; then
    printf '%s\n' "${previous}" >"${PGDATA}/iact.conf"
    svc::die "PostgreSQL refuses the new settings: ${errors//$'\n'/; }"
  fi
  svc::psql -tA -c 'SELECT pg_reload_conf()' >/dev/null
}

svc::run() {
  local pw
  pw="$(svc::password)"
  mkdir -p "${PGDATA}" "${SOCKDIR}"
  chown "${SVC_UID}:${SVC_UID}" "${PGDATA}" "${SOCKDIR}"
  chmod 0700 "${PGDATA}"
  if [[ ! -f "${PGDATA}/iact-initialised" ]]; then
    # A half-finished first start leaves files behind; the template (initdb at image build) replaces initdb.
    find "${PGDATA}" -mindepth 1 -delete
    cp -a "${TEMPLATE}/." "${PGDATA}/"
    svc::converge "${pw}"
    : >"${PGDATA}/iact-initialised"
  else
    # The password may have changed while the container was gone (update with recreate).
    svc::converge "${pw}"
  fi
  svc::install_config
  # Password logins from 127.0.0.1 only (the users are scoped to where iact connects from); the
  # socket inside the container for the admin verbs. Rewritten at every start: older volumes allowed all.
  printf 'local all all trust\nhost all all %s scram-sha-256\n' "${HBA_FROM}" >"${PGDATA}/pg_hba.conf"
  chown "${SVC_UID}:${SVC_UID}" "${PGDATA}/pg_hba.conf"
  [[ "${PORT}" =~ ^[0-9]+$ ]] || svc::die "IACT_PORT '${PORT}' is not a port"
  [[ "${LISTEN}" =~ ^[0-9A-Fa-f.:*]+$ ]] || svc::die "IACT_LISTEN is not an IP address"
  exec setpriv --reuid="${SVC_UID}" --regid="${SVC_UID}" --clear-groups -- \
    "${PGBIN}/postgres" -D "${PGDATA}" -c listen_addresses="${LISTEN}" -c port="${PORT}" -c unix_socket_directories="${SOCKDIR}" "$@"
}

svc::psql() {
  "${PGBIN}/psql" -X -q -v ON_ERROR_STOP=1 -h "${SOCKDIR}" -p "${PORT}" -U "${DB_USER}" -d postgres "$@"
}

main() {
  local verb="${1:-run}" pw
  shift || true
  case "${verb}" in
    run) svc::run "$@" ;;
    password)
      pw="$(svc::password)"
      svc::role_sql "${pw}" | svc::psql >/dev/null
      printf '%s' "$(svc::applied_mark "${pw}")" >"${PGDATA}/iact-applied"
      ;;
    reload) svc::reload ;;
    ready) svc::psql -tA -c 'SELECT 1' >/dev/null 2>&1 ;;
    *) svc::die "unknown verb ${verb}" ;;
  esac
}

main "$@"
