#!/usr/bin/env bash
# Build the docker driver's default images locally (no registry is reachable): a minimal root filesystem
# made of the host's own service binaries and their shared libraries (ldd), imported with `docker import`.
# Usage: scripts/docker-images.sh [--force] [postgres|postgres@MAJOR|mysql|redis]...   (default: all but postgres@MAJOR)
# Idempotent: an image whose build label matches this script, its entrypoint and its binaries is kept. Tags: bash/lib/catalog.sh.
#   postgres   /usr/lib/postgresql/15/bin/postgres, initdb, psql, pg_dump
#   postgres@16   iact/postgres:16 (13-17) from /usr/lib/postgresql/16, else from what `iact install postgres@16` cached
#   mysql      /usr/sbin/mariadbd, mariadb, mariadb-dump
#   redis      /usr/bin/redis-server, redis-cli
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
# shellcheck source=../bash/lib/catalog.sh
source "${HERE}/../bash/lib/catalog.sh"
# For svc::iact_cache_dir only: where `iact install` puts PostgreSQL (the drivers' own rule).
# shellcheck source=../bash/lib/services.sh
source "${HERE}/../bash/lib/services.sh"
readonly SVC_UID=999
# The major the default tag names (iact/postgres:15): plain `postgres` builds it from the host's binaries.
readonly PG_DEFAULT_MAJOR="${IACT_CAT_DEFAULT_IMAGE[postgres]##*:}"
# Where the PostgreSQL of the image being built comes from (img::postgres_source).
PG_MAJOR='' PG_SRC_BIN='' PG_SRC_LIB='' PG_SRC_SHARE='' PG_CACHED=

img::die() {
  printf 'error: %s\n' "$1" >&2
  [[ -n "${2:-}" ]] && printf '  fix: %s\n' "$2" >&2
  exit 1
}

img::info() { printf 'info: %s\n' "$*" >&2; }

# The default images of bash/lib/catalog.sh (IACT_CAT_DEFAULT_IMAGE), which the docker driver runs.
img::tag() {
  local default="${IACT_CAT_DEFAULT_IMAGE[$1]}"
  if [[ "$1" == postgres ]]; then printf '%s:%s' "${default%:*}" "${PG_MAJOR}"; else printf '%s' "${default}"; fi
}

# PG_SRC_BIN, PG_SRC_LIB, PG_SRC_SHARE of PostgreSQL MAJOR: the system's (Debian's layout), else the
# tree `iact install postgres@MAJOR` unpacked (bin/ lib/ share/, relocatable: RUNPATH $ORIGIN/../lib).
img::postgres_source() {
  local major="$1" cache
  PG_MAJOR="${major}" PG_CACHED=''
  if [[ -x "/usr/lib/postgresql/${major}/bin/postgres" ]]; then
    PG_SRC_BIN="/usr/lib/postgresql/${major}/bin" PG_SRC_LIB="/usr/lib/postgresql/${major}/lib" PG_SRC_SHARE="/usr/share/postgresql/${major}"
    return 0
  fi
  svc::iact_cache_dir
  cache="${REPLY}/postgres/${major}"
  [[ -x "${cache}/bin/postgres" ]] ||
    img::die "PostgreSQL ${major} is not installed (no postgres in /usr/lib/postgresql/${major}/bin or ${cache}/bin)" \
      "iact install postgres@${major} (or apt-get install -y postgresql-${major}), then $0 postgres@${major}"
  PG_CACHED="${cache}" PG_SRC_BIN="${cache}/bin" PG_SRC_LIB="${cache}/lib" PG_SRC_SHARE="${cache}/share"
}

img::entrypoint() {
  case "$1" in
    postgres) printf '%s/docker-images/postgres-entrypoint.sh' "${HERE}" ;;
    mysql) printf '%s/docker-images/mariadb-entrypoint.sh' "${HERE}" ;;
    redis) printf '%s/docker-images/redis-entrypoint.sh' "${HERE}" ;;
  esac
}

# Copy FILE to the same path under ROOT (symlinks resolved), then every shared library ldd names.
img::add_binary() {
  local root="$1" file lib
  shift
  for file in "$@"; do
    [[ -e "${file}" ]] || img::die "${file} is missing on this machine" "install the package that provides it (see README.md \"Drivers\")"
    img::copy "${root}" "${file}"
    while read -r lib; do
      img::copy "${root}" "${lib}"
    done < <(ldd "${file}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  done
}

img::copy() {
  local root="$1" src="$2"
  [[ -e "${root}${src}" ]] && return 0
  mkdir -p "${root}$(dirname "${src}")"
  cp -L "${src}" "${root}${src}"
}

# The shared libraries of each FILE that ldd finds outside ROOT (a tree copied whole brings its own).
img::add_libs() {
  local root="$1" file lib
  shift
  for file in "$@"; do
    while read -r lib; do
      [[ "${lib}" == "${root}"/* ]] || img::copy "${root}" "${lib}"
    done < <(ldd "${file}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
  done
}

img::add_tree() {
  local root="$1" dir="$2"
  mkdir -p "${root}$(dirname "${dir}")"
  cp -a "${dir}" "${root}${dir}"
}

# Shell, the few tools the entrypoints use, setpriv to drop root, and the service account (uid 999).
img::base() {
  local root="$1" account="$2" tool
  mkdir -p "${root}/usr/bin" "${root}/usr/sbin" "${root}/usr/lib" "${root}/usr/lib64" "${root}/etc" \
    "${root}/tmp" "${root}/dev/shm" "${root}/proc" "${root}/sys" "${root}/run" "${root}/usr/local/bin"
  chmod 1777 "${root}/tmp"
  # Debian 12 is merged-usr: /lib, /bin and /sbin are links into /usr.
  ln -s usr/bin "${root}/bin"
  ln -s usr/sbin "${root}/sbin"
  ln -s usr/lib "${root}/lib"
  ln -s usr/lib64 "${root}/lib64"
  img::add_binary "${root}" /usr/bin/bash /usr/bin/setpriv
  for tool in cat mkdir chown chmod rm mktemp find cp sha256sum cut sync sleep setsid; do
    img::add_binary "${root}" "$(command -v "${tool}")"
  done
  ln -s bash "${root}/usr/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/bash\n%s:x:%s:%s:%s:/nonexistent:/usr/sbin/nologin\n' \
    "${account}" "${SVC_UID}" "${SVC_UID}" "${account}" >"${root}/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "${account}" "${SVC_UID}" >"${root}/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files\n' >"${root}/etc/nsswitch.conf"
  printf '127.0.0.1 localhost\n' >"${root}/etc/hosts"
}

img::postgres() {
  local root="$1" so file
  local bin="/usr/lib/postgresql/${PG_MAJOR}/bin"
  img::base "${root}" postgres
  if [[ -z "${PG_CACHED}" ]]; then
    img::add_binary "${root}" "${PG_SRC_BIN}/postgres" "${PG_SRC_BIN}/initdb" "${PG_SRC_BIN}/psql" "${PG_SRC_BIN}/pg_dump" "${PG_SRC_BIN}/pg_isready"
    for so in "${PG_SRC_LIB}"/*.so; do
      [[ "${so}" == */llvmjit.so ]] && continue
      img::add_binary "${root}" "${so}"
    done
    img::add_tree "${root}" "${PG_SRC_SHARE}"
  else
    # The npm tree as one prefix at the system's path, so PATH and the entrypoint look where they do for 15;
    # the procedural languages (perl, python, tcl) and JIT need runtimes the image lacks; static libs are for builds.
    mkdir -p "${root}/usr/lib/postgresql/${PG_MAJOR}"
    cp -a "${PG_SRC_BIN}" "${PG_SRC_LIB}" "${PG_SRC_SHARE}" "${root}/usr/lib/postgresql/${PG_MAJOR}/"
    find "${root}/usr/lib/postgresql/${PG_MAJOR}/lib" \( -name '*.a' -o -name 'pkgconfig' -o -name '*plperl*' -o -name '*plpython*' \
      -o -name '*pltcl*' -o -name 'llvmjit*' -o -name 'bitcode' \) -prune -exec rm -rf {} +
    while IFS= read -r -d '' file; do
      img::add_libs "${root}" "${file}"
    done < <(find "${root}${bin}" "${root}/usr/lib/postgresql/${PG_MAJOR}/lib" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
    # The package has no client: this machine's psql (any psql speaks to any server) for the entrypoint's
    # admin verbs, and its pg_dump only when it can dump this major (pg_dump refuses a newer server).
    img::pg_client "${root}" psql "${bin}"
    img::pg_client "${root}" pg_dump "${bin}" "${PG_MAJOR}"
  fi
  mkdir -p "${root}/usr/share/zoneinfo"
  cp -a /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc "${root}/usr/share/zoneinfo/"
  # A template cluster made once here: a new container copies it (~0.2 s) instead of running initdb (1-3 s).
  # 1 MB WAL segments keep it small (vfs copies the image for every container).
  mkdir -p "${root}/usr/share/iact"
  chmod 0755 "${root}/usr/share/iact"
  local tmpl="${root}/usr/share/iact/pgdata-template"
  install -d -o postgres -m 0700 "${tmpl}"
  local initdb="${PG_SRC_BIN}/initdb"
  [[ -z "${PG_CACHED}" ]] || initdb="${root}${bin}/initdb"
  runuser -u postgres -- "${initdb}" -D "${tmpl}" -U postgres --no-sync --wal-segsize=1 -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --no-instructions >/dev/null
  # Password logins from 127.0.0.1 only: the container shares the host's network and binds there
  # (the entrypoint writes the same pg_hba.conf at every start).
  printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"${tmpl}/pg_hba.conf"
  # The manifest's settings: the entrypoint writes them to iact.conf, included last (it wins).
  printf "\ninclude_if_exists = 'iact.conf'\n" >>"${tmpl}/postgresql.conf"
  chown -R "${SVC_UID}:${SVC_UID}" "${tmpl}"
  mkdir -p "${root}/var/lib/postgresql/data" "${root}/run/postgresql"
  chown "${SVC_UID}:${SVC_UID}" "${root}/var/lib/postgresql/data" "${root}/run/postgresql"
  chmod 0700 "${root}/var/lib/postgresql/data"
}

# This machine's newest CLIENT (psql, pg_dump) copied into BIN with its libraries; with MIN_MAJOR,
# only a client of at least that major. None found: the image goes without it.
img::pg_client() {
  local root="$1" client="$2" bin="$3" min="${4:-0}" dir best='' major
  for dir in /usr/lib/postgresql/*/bin; do
    major="${dir%/bin}"
    major="${major##*/}"
    [[ -x "${dir}/${client}" && "${major}" =~ ^[0-9]+$ ]] && ((major >= min)) && best="${dir}/${client}"
  done
  if [[ -z "${best}" ]]; then
    img::info "no ${client}${4:+ of PostgreSQL ${min} or newer} on this machine: iact/postgres:${PG_MAJOR} goes without it"
    return 0
  fi
  cp -L "${best}" "${root}${bin}/${client}"
  img::add_libs "${root}" "${best}"
}

img::mysql() {
  local root="$1" file
  img::base "${root}" mysql
  img::add_binary "${root}" /usr/sbin/mariadbd /usr/bin/mariadb /usr/bin/mariadb-dump
  mkdir -p "${root}/usr/share/mysql"
  for file in english charsets mysql_system_tables.sql mysql_performance_tables.sql mysql_system_tables_data.sql; do
    cp -a "/usr/share/mysql/${file}" "${root}/usr/share/mysql/"
  done
  # System tables bootstrapped once here (as mariadb-install-db would, minus help tables and sys schema);
  # a new container copies them. --bootstrap never listens on the network.
  mkdir -p "${root}/usr/share/iact"
  chmod 0755 "${root}/usr/share/iact"
  local tmpl="${root}/usr/share/iact/mysql-template"
  install -d -o mysql -m 0700 "${tmpl}"
  {
    printf 'create database if not exists mysql;\nuse mysql;\n'
    printf "SET @auth_root_socket='root';\n"
    cat /usr/share/mysql/mysql_system_tables.sql /usr/share/mysql/mysql_performance_tables.sql /usr/share/mysql/mysql_system_tables_data.sql
  } | /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="${tmpl}" --bootstrap --log-warnings=0 \
    --skip-networking --socket="${tmpl}/bootstrap.sock" --pid-file="${tmpl}/bootstrap.pid" \
    --enforce-storage-engine="" --max_allowed_packet=8M --net_buffer_length=16K --skip-name-resolve \
    --innodb-log-file-size=16M >/dev/null 2>"${root}/bootstrap.err" ||
    img::die "mariadbd --bootstrap of the template failed: $(tail -n 5 "${root}/bootstrap.err" | tr '\n' ' ')" \
      "read mariadbd's words above; a machine out of async I/O contexts (fs.aio-max-nr) or disk fails it"
  rm -f "${tmpl}/bootstrap.sock" "${tmpl}/bootstrap.pid" "${root}/bootstrap.err"
  printf '10.11' >"${tmpl}/mysql_upgrade_info"
  chown -R "${SVC_UID}:${SVC_UID}" "${tmpl}"
  mkdir -p "${root}/var/lib/mysql" "${root}/run/mysqld"
  chown "${SVC_UID}:${SVC_UID}" "${root}/var/lib/mysql" "${root}/run/mysqld"
}

img::redis() {
  local root="$1"
  img::base "${root}" redis
  img::add_binary "${root}" /usr/bin/redis-server /usr/bin/redis-cli
  mkdir -p "${root}/data"
  chown "${SVC_UID}:${SVC_UID}" "${root}/data"
}

img::changes() {
  case "$1" in
    postgres) printf '%s\n' 'EXPOSE 5432' 'ENV PGDATA=/var/lib/postgresql/data' ;;
    mysql) printf '%s\n' 'EXPOSE 3306' ;;
    redis) printf '%s\n' 'EXPOSE 6379' ;;
  esac
  # The entrypoint finds postgres on PATH: the one major this image holds.
  printf '%s\n' 'ENV TZ=UTC' "ENV PATH=/usr/local/bin:/usr/lib/postgresql/${PG_MAJOR:-${PG_DEFAULT_MAJOR}}/bin:/usr/sbin:/usr/bin" \
    'ENTRYPOINT ["/usr/local/bin/iact-service", "run"]'
}

# Changes when this script or the service's entrypoint changes: the cue to rebuild.
img::build_id() {
  local service="$1"
  {
    cat "${BASH_SOURCE[0]}" "$(img::entrypoint "${service}")"
    # Another release installed rebuilds the image (not the time it was installed: a second cache with the same one does not).
    [[ "${service}" == postgres && -n "${PG_CACHED}" ]] && grep -E '"(package|version|integrity)"' "${PG_CACHED}/iact-install.json" 2>/dev/null
    printf '%s' "${PG_MAJOR}"
  } | sha256sum | cut -c1-16
}

img::build() {
  local service="$1" force="$2" tag build_id current root started size change
  local -a changes=()
  tag="$(img::tag "${service}")"
  build_id="$(img::build_id "${service}")"
  current="$(docker image inspect --format '{{index .Config.Labels "iact.build"}}' "${tag}" 2>/dev/null || true)"
  if [[ "${force}" == 0 && "${current}" == "${build_id}" ]]; then
    img::info "${tag} is up to date"
    return 0
  fi
  started="$(date +%s%N)"
  root="$(mktemp -d /tmp/iact-rootfs.XXXXXX)"
  chmod 0755 "${root}"
  # shellcheck disable=SC2064 # expand now: root is local
  trap "rm -rf '${root}'" RETURN
  "img::${service}" "${root}"
  install -m 0755 "$(img::entrypoint "${service}")" "${root}/usr/local/bin/iact-service"
  while IFS= read -r change; do
    changes+=(--change "${change}")
  done < <(img::changes "${service}")
  changes+=(--change "LABEL iact.build=${build_id}")
  tar -C "${root}" --numeric-owner -c . | docker import "${changes[@]}" - "${tag}" >/dev/null
  size="$(docker image inspect --format '{{.Size}}' "${tag}")"
  img::info "built ${tag} ($((size / 1048576)) MiB) in $((($(date +%s%N) - started) / 1000000)) ms"
}

main() {
  local force=0 arg
  local -a services=()
  for arg in "$@"; do
    case "${arg}" in
      --force) force=1 ;;
      postgres | mysql | redis) services+=("${arg}") ;;
      postgres@1[3-7]) services+=("${arg}") ;;
      -h | --help)
        sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
      *)
        printf 'error: unknown argument %s\n  fix: use postgres, postgres@MAJOR (13-17), mysql, redis or --force\n' "'${arg}'" >&2
        exit 2
        ;;
    esac
  done
  ((${#services[@]} > 0)) || services=(postgres mysql redis)
  ((EUID == 0)) || img::die "building images needs root (ownership of the service directories)" "sudo $0"
  command -v docker >/dev/null 2>&1 || img::die "the docker CLI is not installed" "apt-get install -y docker.io"
  if [[ -z "${DOCKER_HOST:-}" && ! -S /var/run/docker.sock && -S /run/iact-docker/docker.sock ]]; then
    export DOCKER_HOST=unix:///run/iact-docker/docker.sock
  fi
  docker version >/dev/null 2>&1 || img::die "no docker engine is reachable" "scripts/docker-engine.sh start"
  for arg in "${services[@]}"; do
    case "${arg}" in
      postgres) img::postgres_source "${PG_DEFAULT_MAJOR}" && img::build postgres "${force}" ;;
      postgres@*) img::postgres_source "${arg#postgres@}" && img::build postgres "${force}" ;;
      *) PG_MAJOR='' PG_CACHED='' && img::build "${arg}" "${force}" ;;
    esac
  done
}

main "$@"
