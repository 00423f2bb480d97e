#!/usr/bin/env bash
# Build the docker driver's default images locally (no registry is reachable): a minimal root filesystem
# made of the host's own service binaries and their shared libraries (ldd), imported with `docker import`.
# Usage: scripts/docker-images.sh [--force] [postgres|mysql|redis]...   (default: all)
# Idempotent: an image whose build label matches this script and its entrypoint is kept. Tags: bash/lib/catalog.sh.
#   postgres   /usr/lib/postgresql/15/bin/postgres, initdb, psql, pg_dump
#   mysql      /usr/sbin/mariadbd, mariadb, mariadb-dump
#   redis      /usr/bin/redis-server, redis-cli
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
# shellcheck source=../bash/lib/catalog.sh
source "${HERE}/../bash/lib/catalog.sh"
readonly PGBIN=/usr/lib/postgresql/15/bin
readonly SVC_UID=999

img::die() {
  printf 'error: %s\n' "$1" >&2
  [[ -n "${2:-}" ]] && printf '  fix: %s\n' "$2" >&2
  exit 1
}

img::info() { printf 'info: %s\n' "$*" >&2; }

# The default images of bash/lib/catalog.sh (IACT_CAT_DEFAULT_IMAGE), which the docker driver runs.
img::tag() {
  printf '%s' "${IACT_CAT_DEFAULT_IMAGE[$1]}"
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
  local root="$1" so
  img::base "${root}" postgres
  img::add_binary "${root}" "${PGBIN}/postgres" "${PGBIN}/initdb" "${PGBIN}/psql" "${PGBIN}/pg_dump" "${PGBIN}/pg_isready"
  for so in /usr/lib/postgresql/15/lib/*.so; do
    [[ "${so}" == */llvmjit.so ]] && continue
    img::add_binary "${root}" "${so}"
  done
  img::add_tree "${root}" /usr/share/postgresql/15
  mkdir -p "${root}/usr/share/zoneinfo"
  cp -a /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc "${root}/usr/share/zoneinfo/"
  # A template cluster made once here: a new container copies it (~0.2 s) instead of running initdb (1-3 s).
  # 1 MB WAL segments keep it small (vfs copies the image for every container).
  mkdir -p "${root}/usr/share/iact"
  chmod 0755 "${root}/usr/share/iact"
  local tmpl="${root}/usr/share/iact/pgdata-template"
  install -d -o postgres -m 0700 "${tmpl}"
  runuser -u postgres -- "${PGBIN}/initdb" -D "${tmpl}" -U postgres --no-sync --wal-segsize=1 -E UTF8 --locale=C \
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
    --innodb-log-file-size=16M >/dev/null 2>&1 || img::die "mariadbd --bootstrap of the template failed" "run it by hand to see why"
  rm -f "${tmpl}/bootstrap.sock" "${tmpl}/bootstrap.pid"
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
  printf '%s\n' 'ENV TZ=UTC' 'ENV PATH=/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin' \
    'ENTRYPOINT ["/usr/local/bin/iact-service", "run"]'
}

# Changes when this script or the service's entrypoint changes: the cue to rebuild.
img::build_id() {
  local service="$1"
  cat "${BASH_SOURCE[0]}" "$(img::entrypoint "${service}")" | sha256sum | cut -c1-16
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
      -h | --help)
        sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        return 0
        ;;
      *)
        printf 'error: unknown argument %s\n  fix: use postgres, mysql, redis or --force\n' "'${arg}'" >&2
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
    img::build "${arg}" "${force}"
  done
}

main "$@"
