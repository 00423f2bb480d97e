#!/usr/bin/env bash
# service: tunnel (docs/tunnels.md): `ssh -N -L 127.0.0.1:PORT:REMOTE_HOST:REMOTE_PORT` kept open by the
# lightweight driver like any server, and healthy only when a real login through it works.
# The svc::tunnel_<op> hooks of lib/services.sh; sourced after it. Key or agent only: BatchMode=yes, no
# password ever reaches ssh, and the host key must be in the manifest's known_hosts.

[[ -n "${IACT_TUNNEL_SH:-}" ]] && return 0
IACT_TUNNEL_SH=1

# ssh's argv (NUL-separated) from the tunnel's spec: the fixed options first, since ssh keeps the first
# value it reads for an option and a manifest setting must not weaken them; paths relative to the
# project root (the cwd here) made absolute, ~ left to ssh.
# shellcheck disable=SC2016 # jq program: $vars are jq's
readonly SVC_TUNNEL_ARGS_JQ='
  def abs: if startswith("/") or startswith("~") then . else $root + "/" + . end;
  ["-N", "-T", "-F", "/dev/null",
   "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
   "-o", ("UserKnownHostsFile=" + (.ssh.knownHosts | abs)), "-o", "GlobalKnownHostsFile=/dev/null",
   "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
   "-o", "ExitOnForwardFailure=yes", "-o", "ConnectTimeout=10",
   "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
   "-o", "ControlMaster=no", "-o", "ControlPath=none"]
  + (if .ssh.identityFile then ["-o", "IdentitiesOnly=yes", "-i", (.ssh.identityFile | abs)] else [] end)
  + ["-p", ((.ssh.port // 22) | tostring)]
  + (if .ssh.user then ["-l", .ssh.user] else [] end)
  + ["-L", ("127.0.0.1:" + $port + ":" + .remote.host + ":" + (.remote.port | tostring))]
  + ((.settings // {}) | to_entries | map(["-o", (.key + "=" + (.value | tostring))]) | add // [])
  + ["--", .ssh.host]
  | map(. + "\u0000") | join("")'

svc::tunnel_check_binaries() {
  SVC_SERVER_BIN="$(command -v ssh 2>/dev/null)" || iact::die 1 "ssh is not installed" "${2:-apt-get install -y openssh-client}" missing-binary
}

# REPLY = the tunnel's fields (ssh, remote, checks, database, user): the spec being applied (create
# and update ingest it; sandbox.json is written only once a login through the tunnel works,
# docs/driver-protocol.md "Create"), else the recorded sandbox.json (start, status).
svc::tunnel_spec() {
  REPLY="${SB_OBSERVED_JSON:-}"
  [[ -n "${REPLY}" ]] && return 0
  { IFS= read -r -d '' REPLY <"${SB_DIR}/sandbox.json"; } 2>/dev/null || true
  [[ -n "${REPLY}" ]]
}

svc::tunnel_write_config() {
  local file="$1"
  svc::tunnel_spec || iact::die 1 "sandbox '${SB_NAME}' has no spec to read its tunnel from" "create it again" io
  jq -j --arg root "${PWD}" --arg port "${SB_PORT}" "${SVC_TUNNEL_ARGS_JQ}" <<<"${REPLY}" >"${file}" ||
    iact::die 2 "sandbox '${SB_NAME}' is a tunnel without ssh.host, ssh.knownHosts or remote" "add them to the manifest (docs/tunnels.md)" usage
}

svc::tunnel_argv() {
  local args=()
  mapfile -d '' -t args <"${SB_DIR}/${IACT_CAT_CONFIG_FILE[tunnel]}"
  # shellcheck disable=SC2034 # read by svc::server_argv and drv::launch
  SVC_ARGV=("${SVC_SERVER_BIN}" "${args[@]}")
}

# ssh writes no pidfile: the launcher's pid is ssh's (setsid execs it). The forward is up once ssh
# listens on the local port, which it does only after the login; a failed login ends ssh first.
svc::tunnel_launched() {
  local pid="$1" deadline=$((SECONDS + ${IACT_START_TIMEOUT:-30}))
  printf '%s\n' "${pid}" >"${SB_DIR}/run/ssh.pid"
  until iact::port_open "${SB_PORT}"; do
    if ! iact::pid_alive "${pid}" || ((SECONDS >= deadline)); then
      sb::log_tail
      drv::stop_processes
      iact::die 1 "ssh tunnel '${SB_NAME}' did not open" "see ${SB_DIR}/logs/server.log; check ssh.host, the key (agent or identityFile) and that knownHosts holds the server's host key" start-failed
    fi
    sleep 0.05
  done
}

# A real login through the tunnel, as `checks:` says, with the sandbox's credentials (never in argv:
# PGPASSWORD, MYSQL_PWD, or AUTH over /dev/tcp); tcp: the local end accepts.
svc::tunnel_login_works() {
  local fields='' checks db user bin out
  svc::tunnel_spec || return 1
  fields="$(jq -r '[.checks // "tcp", .database // "", .user // ""] | join("\u001f")' <<<"${REPLY}" 2>/dev/null)" || return 1
  IFS=$'\x1f' read -r checks db user <<<"${fields}"
  case "${checks}" in
    postgres)
      bin="$(svc::pg_bindir "")"
      out="$(PGPASSWORD="${SB_PASSWORD}" PGCONNECT_TIMEOUT=5 "${bin}/psql" -X -w -tA -h 127.0.0.1 -p "${SB_PORT}" -U "${user}" -d "${db}" -c 'SELECT 1' 2>/dev/null)" || return 1
      [[ "${out}" == 1 ]]
      ;;
    mysql)
      out="$(MYSQL_PWD="${SB_PASSWORD}" mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "${SB_PORT}" -u "${user}" -D "${db}" --connect-timeout=5 -N -B -e 'SELECT 1' 2>/dev/null)" || return 1
      [[ "${out}" == 1 ]]
      ;;
    redis) svc::redis_tcp_auth "${SB_PORT}" "${SB_PASSWORD}" ;;
    *) iact::port_open "${SB_PORT}" ;;
  esac
}

# status: the same login, with the password read from the sandbox (status loads no spec).
svc::tunnel_healthy() {
  SB_PASSWORD=''
  if [[ -r "${SB_DIR}/secrets/password" ]]; then IFS= read -r -d '' SB_PASSWORD <"${SB_DIR}/secrets/password" || true; fi
  svc::tunnel_login_works
}

# Nothing to keep but the sandbox's own files: the data lives on the remote server.
svc::tunnel_backup() {
  svc::none_backup "$1"
}
