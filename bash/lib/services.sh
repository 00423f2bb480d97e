#!/usr/bin/env bash
# Service recipes shared by the lightweight and namespace drivers: templates, config files,
# the server's argv, readiness, admin SQL through the sandbox's unix socket, login checks.
# Sourced after common.sh and sandbox.sh; reads the SB_* globals that sandbox.sh sets.
# Facts about a service come from lib/catalog.sh; only mechanics that really differ (the SQL of
# credentials, the config text, the login probe) are functions svc::<service>_<op>, called by name
# through svc::call (docs/driver-protocol.md "Service catalogue").

[[ -n "${IACT_SERVICES_SH:-}" ]] && return 0
IACT_SERVICES_SH=1

# Bump when the template layout changes, so old cached templates are not reused.
readonly IACT_TEMPLATE_FORMAT=v8
# Role and database every PostgreSQL template holds; a new sandbox renames them (instant).
readonly SVC_PG_TEMPLATE_ROLE=iact_template_user
readonly SVC_PG_TEMPLATE_DB=iact_template_db

# SB_OS_USER = the OS user a service runs as: its system user when we are root (postgres and
# mariadbd refuse root), else us.
svc::set_os_user() {
  local service="$1" user
  if ((EUID != 0)); then
    SB_OS_USER="${USER:-$(id -un)}"
    return 0
  fi
  user="${IACT_CAT_OS_USER[${service}]:-root}"
  if [[ "${user}" != root ]] && ! svc::user_exists "${user}"; then
    iact::die 1 "system user '${user}' for ${service} does not exist" "${IACT_CAT_INSTALL_HINT[${service}]:-install the ${service} server package} (it creates the user), or: useradd --system ${user}" missing-binary
  fi
  SB_OS_USER="${user}"
}

# svc::call OP ARGS...: svc::<service>_OP for the sandbox's service; a service without one (none)
# has nothing to do there.
svc::call() {
  local op="$1"
  shift
  declare -F "svc::${SB_SERVICE}_${op}" >/dev/null || return 0
  "svc::${SB_SERVICE}_${op}" "$@"
}

# REPLY = SB_DIR/<the catalogue's path of this service in MAP>, %PORT% the sandbox's port; false
# when the service has none (IACT_CAT_PIDFILE, IACT_CAT_SOCKET, IACT_CAT_CONFIG_FILE).
svc::path() {
  local -n svc_map="$1"
  local rel="${svc_map[${SB_SERVICE}]:-}"
  REPLY=''
  [[ -n "${rel}" ]] || return 1
  REPLY="${SB_DIR}/${rel//%PORT%/${SB_PORT}}"
}

svc::user_exists() {
  local want="$1" u _
  while IFS=: read -r u _; do
    [[ "${u}" == "${want}" ]] && return 0
  done </etc/passwd
  return 1
}

SVC_PRIV=()

# When a parent of the sandbox is not traversable by the service user (a 0700 home or temp dir),
# the service gets CAP_DAC_READ_SEARCH to reach its own directory instead of failing.
svc::decide_reach() {
  local path="${1:-${SB_DIR}/data}"
  # Once reachable, always reachable within this run (the sandbox dir is the user's own).
  [[ "${SVC_REACH_OK:-0}" == 1 ]] && return 0
  SVC_PRIV=()
  ((EUID == 0)) && [[ "${SB_OS_USER}" != root ]] || return 0
  if ! svc::as_service test -x "${path}"; then
    # A server the driver confines itself sees its directory at a path it can reach.
    svc::run_uid || svc::call unreachable "${path}"
    SVC_PRIV=(--inh-caps=+dac_read_search --ambient-caps=+dac_read_search)
  else
    SVC_REACH_OK=1
  fi
}

# Run a command as USER (no-op when that is us). setpriv execs, so $! is the service's pid.
svc::as_user() {
  local user="$1"
  shift
  if ((EUID == 0)) && [[ "${user}" != root ]]; then
    setpriv --reuid="${user}" --regid="${user}" --init-groups "${SVC_PRIV[@]}" -- "$@"
  else
    "$@"
  fi
}

# Run a command as the sandbox's service identity: SB_OS_USER, or the sandbox's own uid/gid when
# the driver gives one (SB_RUN_UID, the namespace driver: docs/driver-protocol.md "Service identity").
svc::as_service() {
  if ((EUID == 0)) && svc::run_uid; then
    setpriv --reuid="${SB_RUN_UID}" --regid="${SB_RUN_UID}" --clear-groups "${SVC_PRIV[@]}" -- "$@"
  else
    svc::as_user "${SB_OS_USER}" "$@"
  fi
}

# True when the sandbox has a uid of its own (SB_RUN_UID, asked of drv::run_uid once).
svc::run_uid() {
  [[ -n "${SB_RUN_UID:-}" ]] && return 0
  declare -F drv::run_uid >/dev/null || return 1
  drv::run_uid
  [[ -n "${SB_RUN_UID:-}" ]]
}

# REPLY = the owner spec chown gives what the service writes (user:group).
svc::owner() {
  if svc::run_uid; then REPLY="${SB_RUN_UID}:${SB_RUN_UID}"; else REPLY="${SB_OS_USER}:"; fi
}

# REPLY = the iact cache, where `iact install` puts server binaries (docs/operators.md, "iact
# install"): the rule of iactCacheDir in src/install/cache.ts, which test/bash/pg-versions.test.ts
# holds this to.
svc::iact_cache_dir() {
  if [[ -n "${IACT_CACHE_DIR:-}" ]]; then
    REPLY="${IACT_CACHE_DIR}"
  elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then
    REPLY="${XDG_CACHE_HOME}/iact"
  elif ((EUID == 0)); then
    # As root the server runs as its system user, who cannot enter /root.
    REPLY=/var/cache/iact
  else
    REPLY="${HOME}/.cache/iact"
  fi
  [[ "${REPLY}" == /* ]] || REPLY="${PWD}/${REPLY}"
}

# The bin dir of PostgreSQL VERSION's major: the system's, else the iact cache's; unpinned, the
# newest system one.
svc::pg_bindir() {
  local version="${1:-}" major dir best='' cache
  if [[ -n "${version}" ]]; then
    major="${version%%.*}"
    svc::iact_cache_dir
    cache="${REPLY}/postgres/${major}/bin"
    for dir in "/usr/lib/postgresql/${major}/bin" "${cache}"; do
      if [[ -x "${dir}/postgres" ]]; then
        printf '%s' "${dir}"
        return 0
      fi
    done
    iact::die 1 "PostgreSQL ${major} is not installed (no postgres in /usr/lib/postgresql/${major}/bin or ${cache})" \
      "iact install postgres@${major} (or apt-get install -y postgresql-${major}), or drop 'version' from the sandbox" missing-binary
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "${dir}/postgres" ]] || continue
    if [[ -z "${best}" ]] || (($(svc::_major "${dir}") > $(svc::_major "${best}"))); then best="${dir}"; fi
  done
  if [[ -z "${best}" ]]; then
    best="$(command -v postgres 2>/dev/null || true)"
    best="${best%/*}"
  fi
  [[ -n "${best}" ]] || iact::die 1 "PostgreSQL is not installed" "${IACT_CAT_INSTALL_HINT[postgres]}" missing-binary
  printf '%s' "${best}"
}

# The major of a bin dir: /usr/lib/postgresql/16/bin and <cache>/postgres/16/bin are 16; 0 when unknown.
svc::_major() {
  local v="${1%/bin}"
  v="${v##*/}"
  [[ "${v}" =~ ^[0-9]+$ ]] || v=0
  printf '%s' "${v}"
}

# REPLY = the client TOOL (psql, pg_dump) for the server in SVC_BIN: its own, else the newest
# system one (the iact cache's builds carry the server only, docs/operators.md).
svc::pg_client() {
  local tool="$1" dir
  REPLY=''
  if [[ -n "${SVC_BIN:-}" && -x "${SVC_BIN}/${tool}" ]]; then
    REPLY="${SVC_BIN}/${tool}"
    return 0
  fi
  for dir in /usr/lib/postgresql/*/bin; do
    [[ -x "${dir}/${tool}" ]] || continue
    if [[ -z "${REPLY}" ]] || (($(svc::_major "${dir}") > $(svc::_major "${REPLY%/*}"))); then REPLY="${dir}/${tool}"; fi
  done
  [[ -n "${REPLY}" ]] || REPLY="$(command -v "${tool}" 2>/dev/null || true)"
  [[ -n "${REPLY}" ]]
}

# Checks the binaries of SERVICE exist (of VERSION, when pinned); sets SVC_SERVER_BIN (the server's
# binary), SVC_BIN (postgres: its bin dir) and SVC_VERSION_KEY (what the template is made for).
svc::check_binaries() {
  local service="$1" version="${2:-}"
  SVC_VERSION_KEY=any SVC_SERVER_BIN=''
  SB_SERVICE="${service}" svc::call check_binaries "${version}" "${IACT_CAT_INSTALL_HINT[${service}]:-}"
}

svc::postgres_check_binaries() {
  SVC_BIN="$(svc::pg_bindir "$1")"
  SVC_VERSION_KEY="$(svc::_major "${SVC_BIN}")"
  SVC_SERVER_BIN="${SVC_BIN}/postgres"
  svc::pg_client psql || iact::die 1 "psql is not installed" "apt-get install -y postgresql-client" missing-binary
}

svc::mysql_check_binaries() {
  local version="$1" hint="$2" installed
  iact::need_binary mariadbd "${hint}"
  iact::need_binary mariadb-install-db "${hint}"
  iact::need_binary mariadb "${hint}"
  installed="$(mariadbd --version 2>/dev/null)"
  [[ "${installed}" =~ Ver\ ([0-9]+\.[0-9]+) ]] && installed="${BASH_REMATCH[1]}" || installed=unknown
  if [[ -n "${version}" && "${installed}" != "${version}" && "${installed}" != "${version}".* ]]; then
    iact::die 1 "MariaDB ${version} requested, ${installed} is installed" "install MariaDB ${version}, or set version: \"${installed}\"" missing-binary
  fi
  SVC_VERSION_KEY="${installed}"
  SVC_SERVER_BIN="$(command -v mariadbd)"
}

svc::redis_check_binaries() {
  local version="$1" hint="$2" installed
  iact::need_binary redis-server "${hint}"
  iact::need_binary redis-cli "${hint}"
  if [[ -n "${version}" ]]; then
    installed="$(redis-server --version 2>/dev/null)"
    [[ "${installed}" =~ v=([0-9]+\.[0-9]+) ]] && installed="${BASH_REMATCH[1]}" || installed=unknown
    if [[ "${installed}" != "${version}" && "${installed}" != "${version}".* && "${installed%%.*}" != "${version}" ]]; then
      iact::die 1 "Redis ${version} requested, ${installed} is installed" "install Redis ${version}, or set version: \"${installed}\"" missing-binary
    fi
  fi
  SVC_SERVER_BIN="$(command -v redis-server)"
  if [[ "${SB_TLS:-false}" == true ]] && ! svc::redis_has_tls "${SVC_SERVER_BIN}"; then
    iact::die 1 "${SVC_SERVER_BIN} is built without TLS, and sandbox ${SB_NAME} sets tls: true" \
      "install a redis-server built with TLS (Debian's redis-server is: apt-get install -y redis-server), or remove tls:" missing-binary
  fi
}

# True when redis-server BIN knows the tls-* directives (built with BUILD_TLS=yes; iact doctor asks the same).
svc::redis_has_tls() {
  grep -qaF tls-cert-file "$1" 2>/dev/null
}

svc::template_root() {
  local dir
  if sb::setting IACT_TEMPLATE_DIR; then
    dir="${REPLY}"
  elif [[ -n "${HOME:-}" ]]; then
    dir="${XDG_CACHE_HOME:-${HOME}/.cache}/iact/templates"
  else
    dir="${SB_ROOT}/.templates"
  fi
  [[ "${dir}" == /* ]] || dir="${PWD}/${dir}"
  printf '%s' "${dir}"
}

# Sets SVC_TEMPLATE: the template cluster for SERVICE, made once per version under a lock.
# shellcheck disable=SC2034 # SVC_TEMPLATE is read by sandbox.sh
svc::ensure_template() {
  local service="$1" user="$2" troot tdir lockfd build
  troot="$(svc::template_root)"
  tdir="${troot}/${service}-${SVC_VERSION_KEY}-${IACT_TEMPLATE_FORMAT}-${user}"
  if [[ -f "${tdir}/.complete" ]]; then
    SVC_TEMPLATE="${tdir}"
    return 0
  fi
  mkdir -p "${troot}"
  exec {lockfd}>"${troot}/.${service}.lock"
  flock -w 300 "${lockfd}" || iact::die 1 "timed out waiting for the ${service} template lock" "remove ${troot}/.${service}.lock if no other iact runs" locked
  if [[ ! -f "${tdir}/.complete" ]]; then
    iact::info "making the ${service} ${SVC_VERSION_KEY} template cluster once (later sandboxes copy it)"
    # Built in a world-traversable temp dir: the service user may not reach the cache dir.
    build="$(mktemp -d "${TMPDIR:-/tmp}/iact-template.XXXXXX")"
    chmod 0711 "${build}"
    mkdir -m 0700 "${build}/data" "${build}/run"
    ((EUID == 0)) && chown "${user}:" "${build}/data" "${build}/run"
    if ! "svc::${service}_make_template" "${build}" "${user}" >"${build}.log" 2>&1; then
      iact::warn "template build failed; last lines of its log:"
      tail -n 20 "${build}.log" >&2
      rm -rf "${build}" "${build}.log"
      iact::die 1 "could not make the ${service} template" "see the log lines above" start-failed
    fi
    rm -rf "${tdir}"
    mkdir -p "${tdir}"
    chmod 0700 "${tdir}"
    cp -a "${build}/data" "${tdir}/data"
    rm -rf "${build}" "${build}.log"
    : >"${tdir}/.complete"
  fi
  exec {lockfd}>&-
  SVC_TEMPLATE="${tdir}"
}

svc::postgres_make_template() {
  local build="$1" user="$2"
  # Each step returns on failure: the caller's `if !` turns errexit off here.
  svc::as_user "${user}" "${SVC_BIN}/initdb" -D "${build}/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 --no-sync --wal-segsize=1 || return 1
  svc::as_user "${user}" "${SVC_BIN}/postgres" --single -D "${build}/data" -c fsync=off postgres <<SQL || return 1
CREATE ROLE ${SVC_PG_TEMPLATE_ROLE} LOGIN;
CREATE DATABASE ${SVC_PG_TEMPLATE_DB} OWNER ${SVC_PG_TEMPLATE_ROLE};
SQL
  # Sandbox-sized defaults (1 MB WAL segments above keep copies small); iact.conf, included last, wins.
  # Dynamic shared memory as files in data/pg_dynshmem: a server killed outright leaves nothing in /dev/shm.
  # Appended as the postgres user: the file is in its directory.
  printf "\nshared_buffers = 32MB\nmin_wal_size = 4MB\nmax_wal_size = 64MB\ndynamic_shared_memory_type = mmap\ninclude_if_exists = 'iact.conf'\n" |
    svc::as_user "${user}" tee -a -- "${build}/data/postgresql.conf" >/dev/null || return 1
  sync
}

svc::mysql_make_template() {
  local build="$1" user="$2" pid='' i server ok=1
  # Each step returns on failure: the caller's `if !` turns errexit off here.
  mariadb-install-db --no-defaults --datadir="${build}/data" --user="${user}" \
    --auth-root-authentication-method=socket --skip-test-db --innodb-log-file-size=8M || return 1
  # install-db leaves some Aria pages only in its log; copies (which get a new log) would find
  # mysql.proc corrupt. One normal run that opens every system table, then a clean shutdown,
  # writes them all to their data files.
  # The socket relative to the datadir (mariadbd's working directory), the clients run from run/:
  # short however deep TMPDIR is (107-byte socket limit). build/ is root's own mktemp directory.
  (exec setsid mariadbd --no-defaults --datadir="${build}/data" --skip-networking --innodb-log-file-size=8M \
    --socket=../run/s.sock --pid-file="${build}/run/m.pid" "--user=${user}" </dev/null >>"${build}/run/log" 2>&1) &
  server=$!
  for ((i = 0; i < 3000; i++)); do
    [[ -S "${build}/run/s.sock" ]] && svc::mysql_template_client "${build}" "${user}" mariadb -e 'SELECT 1' >/dev/null 2>&1 && break
    iact::pid_alive "${server}" || break
    sleep 0.02
  done
  svc::mysql_template_client "${build}" "${user}" mariadb-check --databases mysql || ok=0
  ((ok)) && { svc::mysql_template_client "${build}" "${user}" mariadb -e 'FLUSH TABLES' || ok=0; }
  if [[ -f "${build}/run/m.pid" ]] && IFS= read -r pid <"${build}/run/m.pid"; then proc::stop_pid "${pid}" TERM 60; fi
  # The server's own log, read as its user: run/ is the user's, so root would follow a link there.
  ((ok)) || { svc::as_user "${user}" tail -n 20 -- "${build}/run/log"; return 1; }
  sync
}

# svc::mysql_template_client BUILD USER TOOL ARGS...: a client of the template's server, as USER, from BUILD/run.
svc::mysql_template_client() {
  local build="$1" user="$2" tool="$3"
  shift 3
  (cd "${build}/run" && svc::as_user "${user}" "${tool}" --no-defaults --socket=./s.sock -u "${user}" "$@")
}

# REPLY = the major version that made the data directory (a file read, no subprocess: status loops).
svc::postgres_data_version() {
  local v=''
  [[ -r "${SB_DIR}/data/PG_VERSION" ]] && IFS= read -r v <"${SB_DIR}/data/PG_VERSION" && [[ "${v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] && REPLY="${v}"
  return 0
}

# True when the sandbox's data directory holds data: the directory, and what its server cannot start without.
# A layered one not mounted (after a reboot; its next start mounts it) holds it while its layers are there.
svc::data_present() {
  [[ -d "${SB_DIR}/data" ]] || return 1
  svc::call data_present && return 0
  store::is_layered "${SB_DIR}" && ! store::mounted "${SB_DIR}/data" && store::layers_present
}
svc::postgres_data_present() { [[ -f "${SB_DIR}/data/PG_VERSION" ]]; }
svc::mysql_data_present() { [[ -d "${SB_DIR}/data/mysql" ]]; }

# MariaDB checks its files with access(), which ignores capabilities: it needs a real path.
svc::mysql_unreachable() {
  iact::die 1 "the ${SB_OS_USER} user cannot reach $1" "let it traverse the parent directories (chmod o+x on each), or set IACT_SANDBOX_ROOT to a path under a world-traversable directory" io
}

# --- configuration -------------------------------------------------------------------------

# Settings the driver itself owns; a manifest may not override them.
svc::reserved_setting() {
  local service="$1" key="$2"
  [[ " ${IACT_CAT_RESERVED[${service}]:-} " == *" ${key//-/_} "* ]]
}

# A postgresql.conf string: single quotes, a quote doubled, a backslash escaped.
svc::pg_quote() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\'/\'\'}"
  printf "'%s'" "${s}"
}

# An option-file value MariaDB reads back unchanged: double quotes, with \\ and \" escaped.
svc::ini_quote() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "${s}"
}

svc::redis_quote() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  printf '"%s"' "${s}"
}

# Redis spells booleans yes/no.
svc::redis_value() {
  REPLY="$1"
  [[ "${REPLY}" == true ]] && REPLY=yes
  [[ "${REPLY}" == false ]] && REPLY=no
  return 0
}

# Writes the service's config files for the sandbox (listen mode SB_TCP: 1 = 127.0.0.1:PORT, 0 =
# socket only) at the catalogue's IACT_CAT_CONFIG_FILE.
svc::write_config() {
  svc::path IACT_CAT_CONFIG_FILE || return 0
  local config="${REPLY}"
  [[ "${SB_TLS:-false}" == true ]] && svc::tls_files
  svc::call write_config "${config}"
}

# True when the server listens on 127.0.0.1:PORT: SB_TCP, or a tls: true sandbox of a driver that
# sets SB_TLS_TCP (the namespace driver: TLS needs TCP, which the server has in its own network
# namespace; docs/namespace-sandbox.md "TLS").
svc::listens_tcp() {
  ((SB_TCP)) && return 0
  ((${SB_TLS_TCP:-0})) && [[ "${SB_TLS:-false}" == true ]]
}

# The CA file clients of a tls: true sandbox verify its server with (docs/operators.md "TLS sandboxes").
svc::tls_ca() { REPLY="${SB_DIR}/tls/ca.crt"; }

# tls/ of a tls: true sandbox (docs/operators.md, "TLS sandboxes"): a CA of this sandbox alone and
# a server certificate it signed for 127.0.0.1 and localhost. Made once; the CA's key is deleted at
# once, so nothing else can ever be signed by it. ca.crt is for clients; server.key (0600) for the server.
# SVC_TLS_SANS: more subject alternative names (IP:A,DNS:B; the docker driver's engine addresses); the
# certificates are made again when the names differ from those tls/sans records.
svc::tls_files() {
  local dir="${SB_DIR}/tls" work sans="IP:127.0.0.1,DNS:localhost${SVC_TLS_SANS:+,${SVC_TLS_SANS}}" had='IP:127.0.0.1,DNS:localhost'
  [[ -f "${dir}/sans" && ! -L "${dir}/sans" ]] && { IFS= read -r had <"${dir}/sans" || true; }
  [[ -s "${dir}/ca.crt" && -s "${dir}/server.crt" && -s "${dir}/server.key" && "${had}" == "${sans}" ]] && return 0
  iact::need_binary openssl "apt-get install -y openssl"
  work="$(mktemp -d "${SB_DIR}/.tls.XXXXXX")"
  if ! {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=iact sandbox ${SB_NAME} (${SB_ENV}) CA" -keyout "${work}/ca.key" -out "${work}/ca.crt" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=localhost" -keyout "${work}/server.key" -out "${work}/server.csr" &&
      printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' "${sans}" >"${work}/ext" &&
      openssl x509 -req -in "${work}/server.csr" -CA "${work}/ca.crt" -CAkey "${work}/ca.key" -CAcreateserial \
        -days 3650 -extfile "${work}/ext" -out "${work}/server.crt"
  } >"${work}/openssl.log" 2>&1; then
    iact::warn "openssl failed: $(tail -n 3 "${work}/openssl.log")"
    rm -rf "${work}"
    iact::die 1 "could not make the TLS certificates of sandbox ${SB_NAME}" "check that openssl works: openssl version" start-failed
  fi
  mkdir -p "${dir}"
  chmod 0755 "${dir}"
  chmod 0644 "${work}/ca.crt" "${work}/server.crt"
  chmod 0600 "${work}/server.key"
  if ((EUID == 0)); then
    svc::owner
    chown "${REPLY}" "${work}/server.key" "${work}/server.crt"
  fi
  printf '%s\n' "${sans}" >"${work}/sans"
  chmod 0644 "${work}/sans"
  mv -f "${work}/ca.crt" "${work}/server.crt" "${work}/server.key" "${work}/sans" "${dir}/"
  rm -rf "${work}"
}

svc::postgres_write_config() {
  local file="$1" i text listen='' sockdir
  svc::listens_tcp && listen=127.0.0.1
  # Relative to data/, postgres's working directory: short however deep the root (107-byte socket limit) (docs/driver-protocol.md "Sockets").
  sockdir="\"../${IACT_CAT_SOCKET[postgres]%/*}\""
  text="# Written by iact for sandbox ${SB_NAME}; changes are overwritten on the next apply.
listen_addresses = '${listen}'
port = ${SB_PORT}
unix_socket_directories = $(svc::pg_quote "${sockdir}")
unix_socket_permissions = 0700
"
  local host=host
  if [[ "${SB_TLS:-false}" == true ]]; then
    # hostssl only: a TCP connection without TLS finds no pg_hba.conf line and is refused.
    host=hostssl
    text+="ssl = on
ssl_cert_file = '${SB_DIR}/tls/server.crt'
ssl_key_file = '${SB_DIR}/tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
"
  fi
  for i in "${!SB_SETTING_KEYS[@]}"; do
    text+="${SB_SETTING_KEYS[i]} = '${SB_SETTING_VALUES[i]}'"$'\n'
  done
  svc::_write_owned "${file}" "${text}"
  svc::_write_owned "${SB_DIR}/data/pg_hba.conf" "# iact: the superuser only by peer (its OS user), everyone else by password.
local all postgres peer map=iact
local all all scram-sha-256
${host} all all 127.0.0.1/32 scram-sha-256
"
  svc::_write_owned "${SB_DIR}/data/pg_ident.conf" "iact ${SB_OS_USER} postgres
"
}

svc::mysql_write_config() {
  local file="$1" i text value
  svc::own_log "${SB_DIR}/logs/mariadbd.log"
  # Paths quoted: the sandbox root may hold blanks, quotes, '#' or ';' (docs/driver-protocol.md "Sandbox directories").
  # The socket relative to the datadir, mariadbd's working directory: short however deep the root (107-byte socket limit).
  text="# Written by iact for sandbox ${SB_NAME}; changes are overwritten on the next apply.
[mariadbd]
datadir=$(svc::ini_quote "${SB_DIR}/data")
socket=$(svc::ini_quote "../${IACT_CAT_SOCKET[mysql]}")
pid-file=$(svc::ini_quote "${SB_DIR}/${IACT_CAT_PIDFILE[mysql]}")
log-error=$(svc::ini_quote "${SB_DIR}/logs/mariadbd.log")
port=${SB_PORT}
"
  if svc::listens_tcp; then text+="bind-address=127.0.0.1"$'\n'; else text+="skip-networking"$'\n'; fi
  text+="skip-name-resolve
skip-log-bin
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
performance_schema=OFF
innodb_log_file_size=8M
innodb_buffer_pool_size=32M
innodb_buffer_pool_load_at_startup=OFF
innodb_buffer_pool_dump_at_shutdown=OFF
"
  if [[ "${SB_TLS:-false}" == true ]]; then
    # Over TCP only TLS; the unix socket (iact's own administration) counts as secure.
    text+="ssl-ca=${SB_DIR}/tls/ca.crt
ssl-cert=${SB_DIR}/tls/server.crt
ssl-key=${SB_DIR}/tls/server.key
require_secure_transport=ON
"
  fi
  for i in "${!SB_SETTING_KEYS[@]}"; do
    value="${SB_SETTING_VALUES[i]}"
    # An option file ends a value at '#' or ';' (a comment) and trims blanks: quote such a value
    # (lib/validate.sh keeps quotes and backslashes out of every value).
    [[ "${value}" == *[\#\;[:space:]]* ]] && value="\"${value}\""
    text+="${SB_SETTING_KEYS[i]}=${value}"$'\n'
  done
  svc::_write_owned "${file}" "${text}"
}

# REPLY = the maxmemory a memory limit gives redis: 3/4 of it, so that clients get an error (or
# keys are evicted, as maxmemory-policy says) before the kernel kills the server. False without a
# limit or when the manifest sets maxmemory itself.
svc::redis_maxmemory() {
  REPLY=''
  [[ -n "${SB_MEMORY:-}" ]] || return 1
  svc::setting_value maxmemory && return 1
  iact::memory_bytes "${SB_MEMORY}"
  REPLY=$((REPLY * 3 / 4))
}

svc::redis_write_config() {
  local file="$1" i text port=0 tls=''
  svc::listens_tcp && port="${SB_PORT}"
  svc::own_log "${SB_DIR}/logs/redis.log"
  if [[ "${SB_TLS:-false}" == true ]]; then
    # TLS only on the port, no client certificates; the unix socket (iact's administration) stays plain.
    tls="tls-port ${port}
tls-cert-file $(svc::redis_quote "${SB_DIR}/tls/server.crt")
tls-key-file $(svc::redis_quote "${SB_DIR}/tls/server.key")
tls-ca-cert-file $(svc::redis_quote "${SB_DIR}/tls/ca.crt")
tls-auth-clients no
tls-protocols \"TLSv1.2 TLSv1.3\"
"
    port=0
  fi
  # unixsocket relative to dir (data/), where redis-server chdirs: short however deep the root (107-byte socket limit).
  text="# Written by iact for sandbox ${SB_NAME}; holds the password (mode 0600).
bind 127.0.0.1
port ${port}
${tls}protected-mode yes
unixsocket $(svc::redis_quote "../${IACT_CAT_SOCKET[redis]}")
unixsocketperm 700
dir $(svc::redis_quote "${SB_DIR}/data")
dbfilename dump.rdb
pidfile $(svc::redis_quote "${SB_DIR}/${IACT_CAT_PIDFILE[redis]}")
logfile $(svc::redis_quote "${SB_DIR}/logs/redis.log")
daemonize no
save 3600 1 300 100 60 10000
appendonly no
"
  # password: null (docs/data.md): no requirepass, reachable on 127.0.0.1 only.
  [[ "${SB_AUTH:-}" == 0 ]] || text+="requirepass $(svc::redis_quote "${SB_PASSWORD}")"$'\n'
  # The manifest's maxmemory-policy, written below with the other settings, overrides noeviction.
  svc::redis_maxmemory && text+="maxmemory ${REPLY}
maxmemory-policy noeviction
"
  for i in "${!SB_SETTING_KEYS[@]}"; do
    svc::redis_value "${SB_SETTING_VALUES[i]}"
    text+="${SB_SETTING_KEYS[i]} ${REPLY}"$'\n'
  done
  svc::_write_owned "${file}" "${text}"
}

# A 0600 file the service reads (its config), written without following anything planted at
# DEST: made new (noclobber: O_EXCL, no mktemp process) in the sandbox directory, which is root's,
# so no one can swap it for a link before it is written; chowned there; then renamed over DEST (a
# rename replaces a link, never writes through it; data/ is the service's) (docs/driver-protocol.md
# "Service identity").
svc::_write_owned() {
  local dest="$1" content="$2" tmp written=0
  tmp="${SB_DIR}/.iact-write.${BASHPID}.${SRANDOM}"
  set -C
  { printf '%s' "${content}" >"${tmp}"; } 2>/dev/null && written=1
  set +C
  ((written)) || iact::die 1 "could not write ${tmp}" "check the sandbox directory ${SB_DIR}; iact writes its files there first" io
  if ((EUID == 0)); then
    svc::owner
    chown "${REPLY}" "${tmp}"
  fi
  mv -fT -- "${tmp}" "${dest}" || {
    rm -f -- "${tmp}"
    iact::die 1 "could not write ${dest}" "check that it is not a directory; iact replaces the file there" io
  }
}

# The log file a server opens itself, in root's logs/ (lightweight): made beforehand, the service's (0600).
svc::own_log() {
  local file="$1"
  ((EUID == 0)) && [[ "${SB_OS_USER}" != root ]] || return 0
  # A driver with its own layout (drv::own_dirs) gives logs/ to the service.
  declare -F drv::own_dirs >/dev/null && return 0
  [[ -f "${file}" && ! -L "${file}" ]] || { rm -f -- "${file}" && : >"${file}"; }
  svc::owner
  chown -h "${REPLY}" "${file}"
}

# --- processes -----------------------------------------------------------------------------

# Fills SVC_ARGV with the server's foreground command line (already wrapped to run as its user).
svc::server_argv() {
  SVC_ARGV=()
  svc::call argv
  # A driver with a service identity of its own (SB_RUN_UID) confines and drops privileges itself.
  if ((EUID == 0)) && [[ "${SB_OS_USER}" != root ]] && ! svc::run_uid; then
    SVC_ARGV=(setpriv --reuid="${SB_OS_USER}" --regid="${SB_OS_USER}" --init-groups "${SVC_PRIV[@]}" -- "${SVC_ARGV[@]}")
  fi
  return 0
}

svc::postgres_argv() { SVC_ARGV=("${SVC_SERVER_BIN}" -D "${SB_DIR}/data"); }
svc::mysql_argv() { SVC_ARGV=("${SVC_SERVER_BIN}" "--defaults-file=${SB_DIR}/${IACT_CAT_CONFIG_FILE[mysql]}"); }
svc::redis_argv() { SVC_ARGV=("${SVC_SERVER_BIN}" "${SB_DIR}/${IACT_CAT_CONFIG_FILE[redis]}"); }

# True once the service accepts connections on its socket (no subprocess for postgres/redis).
svc::ready() {
  svc::path IACT_CAT_SOCKET || return 0
  svc::call ready "${REPLY}"
}

# postgres writes "ready" into its pidfile's status line once it accepts connections.
svc::postgres_ready() {
  local lines=()
  svc::path IACT_CAT_PIDFILE
  [[ -r "${REPLY}" ]] || return 1
  mapfile -t lines <"${REPLY}" 2>/dev/null || return 1
  [[ "${lines[7]:-}" == ready* ]]
}

svc::mysql_ready() {
  [[ -S "$1" ]] || return 1
  svc::mysql_admin_query 'SELECT 1' >/dev/null 2>&1
}

svc::redis_ready() {
  svc::path IACT_CAT_PIDFILE
  [[ -S "$1" && -f "${REPLY}" ]]
}

# Health probes of a tls: true server (iact::service_answers): a handshake finished, as bash cannot.
# pg_isready: TLS (unverified: an answer is all this asks), then the startup packet; it hangs up at
# the password request, which postgres does not log. 0 accepting, 1 rejecting (starting up): answered.
svc::postgres_tls_answers() {
  local rc=0
  svc::pg_client pg_isready || return 1
  "${REPLY}" -q -h "${IACT_CONNECT_HOST}" -p "$1" -t 2 -d sslmode=require || rc=$?
  ((rc <= 1))
}

# redis-cli over TLS without a password: NOAUTH (or PONG) once the handshake is done.
svc::redis_tls_answers() {
  local out
  out="$(
    unset REDISCLI_AUTH
    timeout 2 redis-cli --tls --insecure -h "${IACT_CONNECT_HOST}" -p "$1" PING 2>/dev/null
  )" || return 1
  [[ -n "${out}" ]]
}

# --- administration through the socket -----------------------------------------------------

# svc::socket_client CMD...: an admin client, as the service, working in the socket's directory
# (run/): it names the socket ./NAME (libpq: /proc/self/cwd, as a host splits at commas), so a
# deep sandbox root stays under the 107-byte socket limit (docs/driver-protocol.md "Sockets").
# Root enters run/ by an entry of its own directory (sb::check_dir refused a link there); only the
# unprivileged client opens what is inside.
svc::socket_client() {
  (cd "${SB_DIR}/${IACT_CAT_SOCKET[${SB_SERVICE}]%/*}" && svc::as_service "$@")
}

# REPLY = the socket's name in its directory, for a client that svc::socket_client runs.
svc::socket_name() {
  REPLY="./${IACT_CAT_SOCKET[${SB_SERVICE}]##*/}"
}

svc::psql_admin() {
  svc::pg_client psql
  IACT_PW="${SB_PASSWORD}" IACT_DB="${SB_DB}" IACT_USER="${SB_USER}" IACT_ADMIN="${SB_ADMIN:-0}" \
    svc::socket_client "${REPLY}" -X -q -v ON_ERROR_STOP=1 \
    -h /proc/self/cwd -p "${SB_PORT}" -U postgres -d postgres
}

svc::mysql_admin() {
  svc::socket_name
  svc::socket_client mariadb --no-defaults --socket="${REPLY}" -u "${SB_OS_USER}" --connect-timeout=5 "$@"
}

svc::mysql_admin_query() {
  svc::mysql_admin -N -B -e "$1"
}

svc::mysql_quote() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\'/\\\'}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  printf "'%s'" "${s}"
}

# Logs in with the password the server has now (SVC_SERVER_PASSWORD, which set-password moves on).
# As the service, like mysql's and postgres's: root would connect through a link planted in run/.
svc::redis_admin() {
  local pw="${SVC_SERVER_PASSWORD:-${SB_PASSWORD}}" sock
  svc::socket_name
  sock="${REPLY}"
  # A server without auth (password: null) refuses an AUTH: send none.
  if [[ -z "${pw}" ]]; then
    svc::socket_client redis-cli --no-auth-warning -s "${sock}" "$@"
    return
  fi
  REDISCLI_AUTH="${pw}" svc::socket_client redis-cli --no-auth-warning -s "${sock}" "$@"
}

# Idempotent: the database, the user and its password exist as the spec says.
svc::ensure_credentials() {
  svc::call ensure_credentials || return 1
  # From here on the server has the spec's password.
  SVC_SERVER_PASSWORD="${SB_PASSWORD}"
}

svc::postgres_ensure_credentials() {
  local login='' out status=0
  SVC_LOGIN_CHECKED=0
  # Asked by a create (SVC_LOGIN_IN_SESSION=1) of a plain lightweight sandbox: the same psql session then
  # logs in over TCP with the password, as svc::postgres_login_works would (one client start less, docs/data.md "Speed").
  if [[ "${SVC_LOGIN_IN_SESSION:-0}" == 1 && "${SB_DRIVER}" == lightweight && "${SB_TLS:-false}" != true ]]; then
    login='\echo iact-credentials-set
\getenv login IACT_LOGIN
\connect -reuse-previous=off :login
SELECT 1 AS iact_login \gset
\echo iact-login-ok'
  fi
  # Values travel in the environment (\getenv, PGPASSWORD), never on a command line; this session is never
  # logged, whatever log_statement the manifest sets, so the password stays out of server.log.
  # pg_stat_statements (a manifest may preload it) would keep ALTER ROLE's text, password included.
  # IACT_LOGIN, a URI: the names are identifiers (validated: nothing to escape), the password is PGPASSWORD.
  out="$(PGPASSWORD="${SB_PASSWORD}" PGCONNECT_TIMEOUT=5 PGSSLMODE=prefer \
    IACT_LOGIN="postgresql://${SB_USER}@${IACT_CONNECT_HOST}:${SB_PORT}/${SB_DB}" svc::psql_admin <<SQL
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
SET pg_stat_statements.track = 'none';
SET pg_stat_statements.track_utility = off;
\getenv pw IACT_PW
\getenv db IACT_DB
\getenv usr IACT_USER
SELECT format('ALTER ROLE ${SVC_PG_TEMPLATE_ROLE} RENAME TO %I', :'usr')
 WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${SVC_PG_TEMPLATE_ROLE}')
   AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'usr') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'usr') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'usr') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'usr', :'pw') \gexec
\getenv adm IACT_ADMIN
SELECT format('ALTER ROLE %I %s', :'usr', CASE WHEN :'adm' = '1' THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END) \gexec
SELECT format('ALTER DATABASE ${SVC_PG_TEMPLATE_DB} RENAME TO %I', :'db')
 WHERE EXISTS (SELECT 1 FROM pg_database WHERE datname = '${SVC_PG_TEMPLATE_DB}')
   AND NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'usr') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'usr') \gexec
${login}
SQL
)" || status=$?
  if [[ -n "${login}" ]]; then
    # The credentials are set once the marker is out; a login that failed is retried by sb::wait_login.
    [[ "${out}" == *iact-credentials-set* ]] || return 1
    # shellcheck disable=SC2034 # read by sb::wait_login
    [[ "${out}" == *iact-login-ok* ]] && SVC_LOGIN_CHECKED=1
    return 0
  fi
  return "${status}"
}

svc::mysql_ensure_credentials() {
  local pw admin_sql
  pw="$(svc::mysql_quote "${SB_PASSWORD}")"
  data::mysql_admin_sql
  admin_sql="${REPLY}"
  # Admin is the service's OS user through the socket (unix_socket auth): no root, no anonymous users.
  # sql_log_off and log_slow_query off: the password stays out of the general and slow query logs,
  # whatever the manifest's settings (slow_query_log with long_query_time 0 logs every statement).
  svc::mysql_admin <<SQL
SET SESSION sql_log_off = 1;
SET SESSION log_slow_query = OFF;
DELETE FROM mysql.global_priv WHERE User IN ('', 'root');
DELETE FROM mysql.proxies_priv WHERE User IN ('', 'root');
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS \`${SB_DB}\` CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '${SB_USER}'@'localhost' IDENTIFIED BY ${pw};
CREATE USER IF NOT EXISTS '${SB_USER}'@'127.0.0.1' IDENTIFIED BY ${pw};
ALTER USER '${SB_USER}'@'localhost' IDENTIFIED BY ${pw};
ALTER USER '${SB_USER}'@'127.0.0.1' IDENTIFIED BY ${pw};
${admin_sql}
GRANT ALL PRIVILEGES ON \`${SB_DB}\`.* TO '${SB_USER}'@'localhost', '${SB_USER}'@'127.0.0.1';
SQL
}

svc::redis_ensure_credentials() {
  local reply
  # A server started by this run read the password from its config already.
  [[ "${SB_STARTED_NOW:-0}" == 1 ]] && return 0
  # The running server may still have the previous password; the socket is private to root and redis.
  # The new one travels on stdin (-x), never in argv.
  reply="$(printf '%s' "${SB_PASSWORD}" | svc::redis_admin -x CONFIG SET requirepass 2>&1)" || true
  if [[ "${reply}" != OK ]]; then
    reply="$(printf '%s' "${SB_PASSWORD}" | SVC_SERVER_PASSWORD="${SB_PASSWORD}" svc::redis_admin -x CONFIG SET requirepass 2>&1)" || true
  fi
  [[ "${reply}" == OK ]] || {
    iact::warn "redis refused CONFIG SET requirepass"
    return 1
  }
}

# The set-password step: the running server gets the spec's password (ALTER ROLE / ALTER USER /
# CONFIG SET requirepass); the same idempotent statements create runs.
svc::set_password() {
  svc::ensure_credentials
}

# The value of setting KEY in the spec (SB_SETTING_KEYS/VALUES); false when the spec has none.
svc::setting_value() {
  local key="$1" i
  for i in "${!SB_SETTING_KEYS[@]}"; do
    if [[ "${SB_SETTING_KEYS[i]}" == "${key}" ]]; then
      REPLY="${SB_SETTING_VALUES[i]}"
      return 0
    fi
  done
  return 1
}

# svc::reload PID KEY...: the settings KEY... reach the running server without a restart (postgres
# rereads its files on SIGHUP; mariadb and redis get each KEY at runtime). Redis logs in with the
# password the server has (SVC_SERVER_PASSWORD): set-password runs first (docs/driver-protocol.md).
svc::reload() {
  svc::call reload "$@"
}

svc::postgres_reload() {
  local pid="$1" out
  # pg_file_settings parses the files as they are now: a value the server would refuse on reload
  # (it would log it and keep the old one) fails the update here, and the files are put back.
  out="$(svc::psql_admin <<'SQL' 2>&1
\pset tuples_only on
\pset format unaligned
SELECT name || ': ' || error FROM pg_file_settings WHERE error IS NOT NULL AND name IS NOT NULL;
SQL
)" || iact::die 1 "could not check the new postgresql settings: ${out}" "see ${SB_DIR}/logs/" refused-setting
  out="${out//$'\n'/; }"
  [[ -z "${out// /}" ]] || iact::die 1 "PostgreSQL refuses the new settings: ${out}" "fix these values in the manifest's settings" refused-setting
  kill -HUP "${pid}"
}

# Settings set at runtime stay when they leave the spec; say so (postgres drops them on SIGHUP).
svc::warn_dropped() {
  ((${#SB_DROPPED_KEYS[@]} == 0)) && return 0
  iact::warn "setting(s) ${SB_DROPPED_KEYS[*]} left the spec: the running server keeps their values until its next restart"
}

svc::mysql_reload() {
  local key sql='' value out
  shift
  svc::warn_dropped
  for key in "$@"; do
    svc::setting_value "${key}" || continue
    value="${REPLY}"
    [[ "${value}" =~ ^-?[0-9]+$ || "${value}" =~ ^(ON|OFF|on|off|true|false)$ ]] || value="'${value}'"
    sql+="SET GLOBAL ${key//-/_} = ${value};"$'\n'
  done
  [[ -z "${sql}" ]] && return 0
  # On stdin, never in argv: /proc/PID/cmdline is readable by every local user (docs/driver-protocol.md).
  if ! out="$(printf '%s' "${sql}" | svc::mysql_admin 2>&1)"; then
    iact::die 1 "MariaDB refused a setting at runtime: ${out}" "fix the value in the manifest's settings" refused-setting
  fi
}

svc::redis_reload() {
  local key commands='' out line
  shift
  svc::warn_dropped
  for key in "$@"; do
    svc::setting_value "${key}" || continue
    svc::redis_value "${REPLY}"
    commands+="CONFIG SET ${key} $(svc::redis_quote "${REPLY}")"$'\n'
  done
  [[ -z "${commands}" ]] && return 0
  # redis-cli reads the commands from stdin: no value (masterauth is a secret) in argv.
  out="$(printf '%s' "${commands}" | svc::redis_admin 2>&1)" || true
  while IFS= read -r line; do
    [[ "${line}" == OK ]] || iact::die 1 "Redis refused a setting at runtime: ${line}" "fix the value in the manifest's settings" refused-setting
  done <<<"${out}"
}

# A real login over IACT_CONNECT_HOST:PORT with the sandbox's password.
svc::login_works() {
  svc::call login_works
}

svc::postgres_login_works() {
  local out
  svc::pg_client psql || return 1
  local mode=prefer
  [[ "${SB_TLS:-false}" == true ]] && mode=verify-full
  out="$(PGSSLMODE="${mode}" PGSSLROOTCERT="${SB_DIR}/tls/ca.crt" PGPASSWORD="${SB_PASSWORD}" PGCONNECT_TIMEOUT=5 "${REPLY}" -X -w -tA -h "${IACT_CONNECT_HOST}" -p "${SB_PORT}" -U "${SB_USER}" -d "${SB_DB}" -c 'SELECT 1' 2>/dev/null)" || return 1
  [[ "${out}" == 1 ]]
}

svc::mysql_login_works() {
  local out
  svc::mysql_tls_args
  out="$(MYSQL_PWD="${SB_PASSWORD}" mariadb --no-defaults "${SVC_MYSQL_TLS[@]}" --protocol=TCP -h "${IACT_CONNECT_HOST}" -P "${SB_PORT}" -u "${SB_USER}" -D "${SB_DB}" --connect-timeout=5 -N -B -e 'SELECT 1' 2>/dev/null)" || return 1
  [[ "${out}" == 1 ]]
}

# SVC_MYSQL_TLS = the mariadb client's TLS arguments for a tls: true sandbox: verified against its CA.
svc::mysql_tls_args() {
  SVC_MYSQL_TLS=()
  [[ "${SB_TLS:-false}" == true ]] || return 0
  svc::tls_ca
  SVC_MYSQL_TLS=(--ssl "--ssl-ca=${REPLY}" --ssl-verify-server-cert)
}

svc::redis_login_works() {
  if [[ "${SB_TLS:-false}" == true ]]; then
    svc::redis_tls_ping
    return
  fi
  if [[ "${SB_AUTH:-}" == 0 ]]; then
    svc::redis_tcp_ping "${SB_PORT}"
  else
    svc::redis_tcp_auth "${SB_PORT}" "${SB_PASSWORD}"
  fi
}

# SVC_REDIS_TCP = redis-cli's arguments for IACT_CONNECT_HOST (127.0.0.1 but on a remote docker
# engine):SB_PORT; for a tls: true sandbox over TLS, the server's certificate checked against the
# sandbox's CA.
svc::redis_tcp_args() {
  SVC_REDIS_TCP=(-h "${IACT_CONNECT_HOST:-127.0.0.1}" -p "${SB_PORT}")
  [[ "${SB_TLS:-false}" == true ]] || return 0
  svc::tls_ca
  SVC_REDIS_TCP=(--tls --cacert "${REPLY}" "${SVC_REDIS_TCP[@]}")
}

# A PING over verified TLS (bash cannot speak TLS): redis-cli, the password in REDISCLI_AUTH.
svc::redis_tls_ping() {
  local out
  svc::redis_tcp_args
  if [[ "${SB_AUTH:-}" == 0 ]]; then
    out="$(timeout 5 redis-cli "${SVC_REDIS_TCP[@]}" PING 2>/dev/null)" || return 1
  else
    out="$(REDISCLI_AUTH="${SB_PASSWORD}" timeout 5 redis-cli --no-auth-warning "${SVC_REDIS_TCP[@]}" PING 2>/dev/null)" || return 1
  fi
  [[ "${out}" == PONG ]]
}

# PING over /dev/tcp, for a server without auth.
svc::redis_tcp_ping() {
  local port="$1" fd line='' LC_ALL=C
  { exec {fd}<>"/dev/tcp/${IACT_CONNECT_HOST}/${port}"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&"${fd}" || {
    exec {fd}>&-
    return 1
  }
  read -r -t 5 line <&"${fd}" || true
  exec {fd}>&-
  [[ "${line}" == +PONG* ]]
}

# AUTH then PING over bash's /dev/tcp, the password never in argv. Written in one write: bash's
# printf writes each line apart, and a command split over small writes waits ~40 ms (Nagle against
# the server's delayed ACK); printenv (fully buffered) sends it whole, from its environment.
svc::redis_tcp_auth() {
  local port="$1" pw="$2" fd line1='' line2='' resp LC_ALL=C
  { exec {fd}<>"/dev/tcp/${IACT_CONNECT_HOST}/${port}"; } 2>/dev/null || return 1
  # printenv ends it with the last "\n".
  # shellcheck disable=SC2016 # RESP: '$' is literal
  printf -v resp '*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r' "${#pw}" "${pw}"
  IACT_RESP="${resp}" printenv IACT_RESP >&"${fd}" || {
    exec {fd}>&-
    return 1
  }
  read -r -t 5 line1 <&"${fd}" || true
  read -r -t 5 line2 <&"${fd}" || true
  exec {fd}>&-
  [[ "${line1}" == +OK* && "${line2}" == +PONG* ]]
}

# --- backups ---------------------------------------------------------------------------------

# svc::backup OUT: pg_dump / mariadb-dump / an RDB / a tar of the directory, as IACT_CAT_BACKUP_EXT says.
svc::backup() {
  svc::call backup "$1"
}

svc::postgres_backup() {
  local server
  server="$(svc::_major "${SVC_BIN}")"
  svc::pg_client pg_dump || iact::die 1 "pg_dump is not installed" "apt-get install -y postgresql-client" missing-binary
  # pg_dump refuses a server newer than itself.
  if ((server > 0)) && [[ "${REPLY}" == /usr/lib/postgresql/*/bin/pg_dump ]] && (($(svc::_major "${REPLY%/*}") < server)); then
    iact::die 1 "no pg_dump of PostgreSQL ${server} or newer to back up ${SB_NAME} (found ${REPLY})" \
      "apt-get install -y postgresql-client-${server} (from the PostgreSQL apt repository), or pass --no-backup" missing-binary
  fi
  svc::socket_client "${REPLY}" -h /proc/self/cwd -p "${SB_PORT}" -U postgres -d "${SB_DB}" --no-owner >"$1"
}

svc::mysql_backup() {
  svc::socket_name
  svc::socket_client mariadb-dump --no-defaults --socket="${REPLY}" -u "${SB_OS_USER}" \
    --single-transaction --routines --databases "${SB_DB}" >"$1"
}

svc::redis_backup() {
  if [[ "$(svc::redis_admin SAVE)" != OK ]]; then
    iact::warn "redis SAVE failed; see ${SB_DIR}/logs/redis.log"
    return 1
  fi
  # Read as the service: data/ is its to write, so root would follow a link it planted there.
  svc::as_service cat "${SB_DIR}/data/dump.rdb" >"$1"
}

svc::none_backup() {
  tar -C "${SB_DIR}" --exclude=./secrets -cf "$1" .
}

# shellcheck source=data.sh
source "${BASH_SOURCE[0]%/*}/data.sh"
