#!/bin/bash
# Entrypoint of iact/mariadb (scripts/docker-images.sh). Same environment as the official image:
# MARIADB_USER, MARIADB_DATABASE, MARIADB_PASSWORD_FILE (or MARIADB_PASSWORD); root logs in by unix socket only.
#   iact-service run [mariadbd args]   initialise the data dir on first start, converge user and password, run mariadbd
#   iact-service password              set the password from the secret file on the running server
#   iact-service reload                SET GLOBAL each setting of $IACT_CONFIG (mounted by the driver)
#   iact-service ready                 exit 0 once the server accepts queries
set -euo pipefail

readonly DATADIR=/var/lib/mysql
readonly RUNDIR=/run/mysqld
readonly SOCKET=/run/mysqld/mysqld.sock
readonly SHARE=/usr/share/mysql
readonly SVC_UID=999
readonly TEMPLATE=/usr/share/iact/mysql-template
# The host's network: the server listens on 127.0.0.1:$IACT_PORT only, where the driver publishes it,
# and the user exists for 127.0.0.1 (and the socket) only. Without IACT_PORT (a driver that publishes
# through a bridge) it listens on the container's addresses at 3306 for any host, as it did before.
readonly PORT="${IACT_PORT:-3306}"
# On a remote engine (IACT_LISTEN, docs/remote-engines.md) the user logs in from the clients that reach it.
if [[ -n "${IACT_PORT:-}" ]]; then BIND="${IACT_LISTEN:-127.0.0.1}" USER_HOSTS=("'127.0.0.1'" "'localhost'"); else BIND=0.0.0.0 USER_HOSTS=("'%'"); fi
[[ "${BIND}" == 127.0.0.1 ]] || USER_HOSTS=("'%'")
readonly BIND USER_HOSTS
DB_USER="${MARIADB_USER:-${MYSQL_USER:-}}"
DB_NAME="${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}"
PW_FILE="${MARIADB_PASSWORD_FILE:-${MYSQL_PASSWORD_FILE:-}}"

svc::die() {
  printf 'iact-service: error: %s\n' "$1" >&2
  exit 1
}

svc::password() {
  local pw
  if [[ -n "${PW_FILE}" ]]; then
    [[ -r "${PW_FILE}" ]] || svc::die "password file ${PW_FILE} is not readable"
    pw="$(<"${PW_FILE}")"
  else
    pw="${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}"
  fi
  [[ -n "${pw}" ]] || svc::die "no password: set MARIADB_PASSWORD_FILE"
  printf '%s' "${pw}"
}

svc::sql_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\'/\\\'}"
  printf "'%s'" "${s}"
}

# Idempotent: creates what is missing and sets the current password. The user exists at 127.0.0.1
# (TCP, where iact and applications connect from) and localhost (the socket) only (USER_HOSTS).
svc::user_sql() {
  local pw user account db
  pw="$(svc::sql_string "$1")"
  user="$(svc::sql_string "${DB_USER}")"
  db="${DB_NAME//\`/\`\`}"
  # Never in the general or slow query log, whatever the settings: the password stays out of them.
  printf 'SET SESSION sql_log_off = 1;\nSET SESSION log_slow_query = OFF;\n'
  [[ "${USER_HOSTS[*]}" == "'%'" ]] || printf 'DROP USER IF EXISTS %s@%s;\n' "${user}" "'%'"
  # shellcheck disable=SC2016 # backticks quote SQL identifiers
  printf 'CREATE DATABASE IF NOT EXISTS `%s`;\n' "${db}"
  for account in "${USER_HOSTS[@]/#/${user}@}"; do
    printf 'CREATE USER IF NOT EXISTS %s IDENTIFIED BY %s;\n' "${account}" "${pw}"
    printf 'ALTER USER %s IDENTIFIED BY %s;\n' "${account}" "${pw}"
    # shellcheck disable=SC2016
    printf 'GRANT ALL PRIVILEGES ON `%s`.* TO %s;\n' "${db}" "${account}"
  done
}

# The settings of $IACT_CONFIG ([mariadbd] key=value lines; the driver checked names and values) as
# SET GLOBAL statements, for the mariadb client's stdin.
svc::settings_sql() {
  local line key value
  [[ -n "${IACT_CONFIG:-}" && -r "${IACT_CONFIG}" ]] || return 0
  while IFS= read -r line || [[ -n "${line}" ]]; do
    [[ "${line}" == *=* && "${line}" != \#* ]] || continue
    key="${line%%=*}" value="${line#*=}"
    [[ "${value}" =~ ^-?[0-9]+$ || "${value}" =~ ^(ON|OFF|on|off|true|false)$ ]] || value="'${value}'"
    printf 'SET GLOBAL %s = %s;\n' "${key//-/_}" "${value}"
  done <"${IACT_CONFIG}"
}

svc::run() {
  local pw initfile defaults=--no-defaults
  [[ -n "${DB_USER}" && -n "${DB_NAME}" ]] || svc::die "set MARIADB_USER and MARIADB_DATABASE"
  pw="$(svc::password)"
  mkdir -p "${DATADIR}" "${RUNDIR}"
  chown "${SVC_UID}:${SVC_UID}" "${DATADIR}" "${RUNDIR}"
  if [[ ! -f "${DATADIR}/iact-initialised" ]]; then
    # A half-finished copy or bootstrap leaves tables that the next attempt trips over.
    find "${DATADIR}" -mindepth 1 -delete
    if [[ -f "${TEMPLATE}/mysql_upgrade_info" ]]; then
      # Bootstrapped once at image build: a copy (~0.1 s) instead of mariadbd --bootstrap (1-3 s).
      cp -a "${TEMPLATE}/." "${DATADIR}/"
    else
      # What mariadb-install-db does, without help tables and sys schema (they double the time).
      {
        printf 'create database if not exists mysql;\nuse mysql;\n'
        printf "SET @auth_root_socket='root';\n"
        cat "${SHARE}/mysql_system_tables.sql" "${SHARE}/mysql_performance_tables.sql" "${SHARE}/mysql_system_tables_data.sql"
      } | mariadbd --no-defaults --user=mysql --datadir="${DATADIR}" --bootstrap --log-warnings=0 \
        --enforce-storage-engine="" --max_allowed_packet=8M --net_buffer_length=16K --skip-name-resolve \
        --innodb-log-file-size=16M >/dev/null 2>&1 || svc::die "bootstrap of the system tables failed"
      printf '10.11' >"${DATADIR}/mysql_upgrade_info"
      chown "${SVC_UID}:${SVC_UID}" "${DATADIR}/mysql_upgrade_info"
    fi
    # Written last: its absence means the first start did not finish, and the next one starts over.
    : >"${DATADIR}/iact-initialised"
  fi
  # tmpfs: the init file holding the password never reaches the disk, and is removed once the server
  # has read it (it runs before the first connection is accepted): no plaintext stays in the container.
  initfile=/dev/shm/iact-init.sql
  (umask 077 && svc::user_sql "${pw}" >"${initfile}")
  chown "${SVC_UID}" "${initfile}"
  # Detached (its parent exits): the container's init reaps it, not mariadbd.
  # shellcheck disable=SC2016 # $1 and $2 are the inner bash's arguments
  (setsid bash -c 'until mariadb --no-defaults -uroot -S "$1" -e "SELECT 1" >/dev/null 2>&1; do sleep 0.1; done; rm -f -- "$2"' \
    iact-init-cleanup "${SOCKET}" "${initfile}" </dev/null >/dev/null 2>&1 &)
  # The manifest's settings as an option file (read before mariadbd drops root), not as arguments.
  [[ -n "${IACT_CONFIG:-}" && -r "${IACT_CONFIG}" ]] && defaults="--defaults-file=${IACT_CONFIG}"
  [[ "${PORT}" =~ ^[0-9]+$ ]] || svc::die "IACT_PORT '${PORT}' is not a port"
  [[ "${BIND}" =~ ^[0-9A-Fa-f.:*]+$ ]] || svc::die "IACT_LISTEN is not an IP address"
  exec mariadbd "${defaults}" --user=mysql --datadir="${DATADIR}" --socket="${SOCKET}" \
    --pid-file="${RUNDIR}/mysqld.pid" --bind-address="${BIND}" --port="${PORT}" --skip-name-resolve \
    --innodb-log-file-size=16M --init-file="${initfile}" "$@"
}

main() {
  local verb="${1:-run}"
  shift || true
  case "${verb}" in
    run) svc::run "$@" ;;
    password) svc::user_sql "$(svc::password)" | mariadb --no-defaults -uroot -S "${SOCKET}" ;;
    reload) svc::settings_sql | mariadb --no-defaults -uroot -S "${SOCKET}" ;;
    ready) mariadb --no-defaults -uroot -S "${SOCKET}" -e 'SELECT 1' >/dev/null 2>&1 ;;
    *) svc::die "unknown verb ${verb}" ;;
  esac
}

main "$@"
