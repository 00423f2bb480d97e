#!/bin/bash
# Entrypoint of iact/postgres (scripts/docker-images.sh). Same environment as the official image:
# POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD).
#   iact-service run [postgres args]   initialise the data dir on first start, converge the password, run postgres
#   iact-service password              set the password from the secret file on the running server
#   iact-service ready                 exit 0 once the server accepts queries
set -euo pipefail

readonly PGBIN=/usr/lib/postgresql/15/bin
readonly SOCKDIR=/run/postgresql
readonly SVC_UID=999
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

# SQL that sets the password; standard_conforming_strings is on, so only quotes need doubling.
svc::password_sql() {
  local pw="$1" role="${DB_USER//\"/\"\"}"
  printf 'ALTER ROLE "%s" WITH LOGIN PASSWORD '\''%s'\'';\n' "${role}" "${pw//\'/\'\'}"
}

svc::run() {
  local pw pwfile
  pw="$(svc::password)"
  mkdir -p "${PGDATA}" "${SOCKDIR}"
  chown "${SVC_UID}:${SVC_UID}" "${PGDATA}" "${SOCKDIR}"
  chmod 0700 "${PGDATA}"
  if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    # A half-finished init leaves files that initdb refuses to overwrite.
    find "${PGDATA}" -mindepth 1 -delete
    pwfile="$(mktemp /dev/shm/pw.XXXXXX)"
    printf '%s\n' "${pw}" >"${pwfile}"
    chown "${SVC_UID}" "${pwfile}"
    svc::as_service "${PGBIN}/initdb" -D "${PGDATA}" -U "${DB_USER}" --pwfile="${pwfile}" -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null
    rm -f "${pwfile}"
    # docker-proxy connects from the bridge, not from 127.0.0.1; a password is still required.
    printf 'host all all all scram-sha-256\n' >>"${PGDATA}/pg_hba.conf"
    if [[ "${DB_NAME}" != postgres ]]; then
      printf 'CREATE DATABASE "%s" OWNER "%s"\n' "${DB_NAME//\"/\"\"}" "${DB_USER//\"/\"\"}" |
        svc::as_service "${PGBIN}/postgres" --single -D "${PGDATA}" postgres >/dev/null
    fi
  else
    # The password may have changed while the container was gone (update with recreate).
    svc::password_sql "${pw}" | svc::as_service "${PGBIN}/postgres" --single -D "${PGDATA}" postgres >/dev/null 2>&1 ||
      svc::die "could not set the password in single-user mode"
  fi
  exec setpriv --reuid="${SVC_UID}" --regid="${SVC_UID}" --clear-groups -- \
    "${PGBIN}/postgres" -D "${PGDATA}" -c listen_addresses='*' -c unix_socket_directories="${SOCKDIR}" "$@"
}

svc::psql() {
  "${PGBIN}/psql" -X -q -v ON_ERROR_STOP=1 -h "${SOCKDIR}" -U "${DB_USER}" -d postgres "$@"
}

main() {
  local verb="${1:-run}"
  shift || true
  case "${verb}" in
    run) svc::run "$@" ;;
    password) svc::password_sql "$(svc::password)" | svc::psql >/dev/null ;;
    ready) svc::psql -tA -c 'SELECT 1' >/dev/null 2>&1 ;;
    *) svc::die "unknown verb ${verb}" ;;
  esac
}

main "$@"
