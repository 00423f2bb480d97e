#!/usr/bin/env bash
# The one writer of a sandbox's bin/activate, for every driver (docs/driver-protocol.md "Activate"):
# the variables `iact run` hands a command (src/sandbox/connection.ts), and a `deactivate` that puts
# back every one of them as it was. Sourced by common.sh.

[[ -n "${IACT_ACTIVATE_SH:-}" ]] && return 0
IACT_ACTIVATE_SH=1

# The variables of each service, in src/sandbox/connection.ts's names (iact::activate_vars_<service>).
iact::activate_vars_postgres() { REPLY='DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DATABASE_URL PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD'; }
iact::activate_vars_mysql() { REPLY='DB_HOST DB_PORT DB_NAME DB_USER DB_PASSWORD DATABASE_URL MYSQL_HOST MYSQL_TCP_PORT MYSQL_PWD MYSQL_PORT MYSQL_USER MYSQL_PASSWORD MYSQL_DATABASE'; }
iact::activate_vars_redis() { REPLY='REDIS_HOST REDIS_PORT REDIS_PASSWORD REDIS_URL'; }

# The lines that set them; the password is read from secrets/password when the file is sourced
# (_iact_pw), so the file holds no secret. Database and user are identifiers: nothing to encode.
iact::activate_set_postgres() {
  REPLY="export DB_HOST=${IACT_CONNECT_HOST} DB_PORT=${2} DB_NAME=${3} DB_USER=${4} DB_PASSWORD=\"\${_iact_pw}\"
export PGHOST=${IACT_CONNECT_HOST} PGPORT=${2} PGDATABASE=${3} PGUSER=${4} PGPASSWORD=\"\${_iact_pw}\"
DATABASE_URL=\"postgresql://${4}:\$(_iact_urlencode \"\${_iact_pw}\")@${IACT_CONNECT_HOST}:${2}/${3}\"; export DATABASE_URL
"
}
iact::activate_set_mysql() {
  REPLY="export DB_HOST=${IACT_CONNECT_HOST} DB_PORT=${2} DB_NAME=${3} DB_USER=${4} DB_PASSWORD=\"\${_iact_pw}\"
export MYSQL_HOST=${IACT_CONNECT_HOST} MYSQL_TCP_PORT=${2} MYSQL_PWD=\"\${_iact_pw}\"
export MYSQL_PORT=${2} MYSQL_USER=${4} MYSQL_PASSWORD=\"\${_iact_pw}\" MYSQL_DATABASE=${3}
DATABASE_URL=\"mysql://${4}:\$(_iact_urlencode \"\${_iact_pw}\")@${IACT_CONNECT_HOST}:${2}/${3}\"; export DATABASE_URL
"
}
iact::activate_set_redis() {
  # Redis 6+ ACL form, as iact run: redis-cli sends AUTH with an empty user for redis://:pass@.
  REPLY="export REDIS_HOST=${IACT_CONNECT_HOST} REDIS_PORT=${2} REDIS_PASSWORD=\"\${_iact_pw}\"
REDIS_URL=\"redis://default:\$(_iact_urlencode \"\${_iact_pw}\")@${IACT_CONNECT_HOST}:${2}/0\"; export REDIS_URL
"
}

# A tls: true sandbox (SB_TLS): ACTIVATE_TLS_VARS and REPLY = the lines that make clients verify it
# against its CA (quoted path $1), src/catalog's connection.tls (docs/connection-variables.md "TLS").
iact::activate_tls_postgres() {
  ACTIVATE_TLS_VARS='DB_SSL_MODE DB_SSL_CA DB_SSL_ROOT_CERT PGSSLMODE PGSSLROOTCERT'
  REPLY="export DB_SSL_MODE=verify-full DB_SSL_CA=${1} DB_SSL_ROOT_CERT=${1} PGSSLMODE=verify-full PGSSLROOTCERT=${1}
"
}
iact::activate_tls_mysql() {
  ACTIVATE_TLS_VARS='DB_SSL_MODE DB_SSL_CA DB_SSL_ROOT_CERT'
  REPLY="export DB_SSL_MODE=verify-full DB_SSL_CA=${1} DB_SSL_ROOT_CERT=${1}
"
}
iact::activate_tls_redis() {
  ACTIVATE_TLS_VARS='REDIS_SSL_MODE REDIS_SSL_CA'
  # rediss://: TLS for redis-cli -u and the client libraries.
  REPLY="REDIS_URL=\"rediss\${REDIS_URL#redis}\"; export REDIS_URL
export REDIS_SSL_MODE=verify-full REDIS_SSL_CA=${1}
"
}

# encodeURIComponent, in the sourcing shell (bytes, C locale): what src/sandbox/connection.ts does to the password.
IFS= read -r -d '' IACT_ACTIVATE_URLENCODE <<'EOF' || true
_iact_urlencode() {
  (
    LC_ALL=C
    s="$1" o=""
    while [ -n "$s" ]; do
      c="${s%"${s#?}"}"
      s="${s#?}"
      case "$c" in
        [A-Za-z0-9_.!~*\'\(\)-]) o="$o$c" ;;
        *) o="$o$(printf '%%%02X' "'$c")" ;;
      esac
    done
    printf '%s' "$o"
  )
}
EOF
readonly IACT_ACTIVATE_URLENCODE

# iact::write_activate FILE NAME ENVIRONMENT SERVICE DIR PORT [DATABASE USER]: writes FILE, without
# a subprocess (create-many writes thousands): its mode is the caller's umask (the drivers run under
# 077). DIR is the sandbox directory, whose secrets/password the file reads when sourced.
iact::write_activate() {
  local file="$1"
  shift
  # shellcheck disable=SC2016 # expanded by the shell that sources the file
  iact::activate_text "$1" "$2" "$3" "$4" "$5" "${6:-}" "${7:-}" '"${IACT_SANDBOX_DIR}/secrets/password"'
  printf '%s' "${REPLY}" >"${file}"
}

# iact::activate_text NAME ENVIRONMENT SERVICE DIR PORT DATABASE USER PASSWORD_FILE: REPLY = the text
# of bin/activate, whose password is read from PASSWORD_FILE (a shell word, expanded when sourced):
# secrets/password for the file, the spec's password on a pipe for init's .sh files (lib/data.sh).
iact::activate_text() {
  local name="$1" env_name="$2" service="$3" dir="$4" port="$5" database="${6:-}" user="${7:-}" password_file="$8"
  local vars='IACT_SANDBOX IACT_SANDBOX_DIR' v text q_dir set='' ACTIVATE_TLS_VARS=''
  if declare -F "iact::activate_vars_${service}" >/dev/null; then
    "iact::activate_vars_${service}"
    vars+=" ${REPLY}"
    "iact::activate_set_${service}" "${dir}" "${port}" "${database}" "${user}"
    set="${REPLY}"
    if [[ "${SB_TLS:-false}" == true ]] && declare -F "iact::activate_tls_${service}" >/dev/null; then
      printf -v q_dir '%q' "${dir}/tls/ca.crt"
      "iact::activate_tls_${service}" "${q_dir}"
      vars+=" ${ACTIVATE_TLS_VARS}"
      set+="${REPLY}"
    fi
  fi
  printf -v q_dir '%q' "${dir}"
  text="# iact sandbox ${name} (${env_name}, ${service}): source this file from bash; run 'deactivate' to undo.
# The password is read from secrets/password when sourced; it is not stored here.
if [ \"\$(type -t deactivate 2>/dev/null)\" = function ] && [ -n \"\${IACT_SANDBOX:-}\" ]; then deactivate; fi
_IACT_OLD_PS1=\"\${PS1-}\"
"
  for v in ${vars}; do
    text+="_IACT_HAD_${v}=\"\${${v}+x}\"; _IACT_OLD_${v}=\"\${${v}-}\""$'\n'
  done
  text+="deactivate() {"$'\n'
  for v in ${vars}; do
    text+="  if [ -n \"\${_IACT_HAD_${v}}\" ]; then ${v}=\"\${_IACT_OLD_${v}}\"; export ${v}; else unset ${v}; fi; unset _IACT_HAD_${v} _IACT_OLD_${v}"$'\n'
  done
  text+="  PS1=\"\${_IACT_OLD_PS1}\"; unset _IACT_OLD_PS1
  unset -f deactivate
}
export IACT_SANDBOX=${name}
export IACT_SANDBOX_DIR=${q_dir}
"
  if [[ -n "${set}" ]]; then
    text+="${IACT_ACTIVATE_URLENCODE}_iact_pw=\"\$(cat ${password_file} 2>/dev/null)\"
${set}unset _iact_pw; unset -f _iact_urlencode
"
  fi
  text+="PS1=\"(iact:${name}) \${PS1-}\""$'\n'
  REPLY="${text}"
}
