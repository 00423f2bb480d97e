#!/usr/bin/env bash
# A second docker engine in its own network namespace, reachable from this machine over TCP with TLS
# only: what the remote-engine tests and bench/docker.sh run against (docs/remote-engines.md "Trying
# it on one machine"). Needs root, iproute2, openssl and Debian's docker.io.
# Usage: scripts/netns-docker-engine.sh start|stop DIR N
#   start  netns iact-engine-N, veth iactN-h (10.251.N.1, here) / iactN-n (10.251.N.2, the engine's side),
#          a CA, server and client certificate in DIR/tls, dockerd on tcp://10.251.N.2:2376 (--tlsverify);
#          prints the engine's DOCKER_HOST and cert dir as shell assignments
#   stop   dockerd, its containers' processes, the veth and the namespace, then DIR
set -euo pipefail

ne::die() {
  printf 'error: %s\n' "$1" >&2
  [[ -n "${2:-}" ]] && printf '  fix: %s\n' "$2" >&2
  exit 1
}

ne::certs() {
  local tls="$1" addr="$2"
  mkdir -p "${tls}"
  chmod 0700 "${tls}"
  (
    cd "${tls}"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=iact test engine CA' -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj '/CN=iact-engine' -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "${addr}" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj '/CN=iact-client' -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile client.ext -out cert.pem 2>/dev/null
    rm -f ./*.csr ./*.ext ca-key.pem ca.srl
    chmod 0600 ./*.pem
  )
}

ne::start() {
  local dir="$1" n="$2" ns host_if ns_if addr deadline pid
  ns="iact-engine-${n}" host_if="iact${n}-h" ns_if="iact${n}-n" addr="10.251.${n}.2"
  ((EUID == 0)) || ne::die "a network namespace needs root" "run as root"
  mkdir -p "${dir}"
  ip netns add "${ns}"
  ip link add "${host_if}" type veth peer name "${ns_if}"
  ip link set "${ns_if}" netns "${ns}"
  ip addr add "10.251.${n}.1/24" dev "${host_if}"
  ip link set "${host_if}" up
  ip netns exec "${ns}" ip addr add "${addr}/24" dev "${ns_if}"
  ip netns exec "${ns}" ip link set "${ns_if}" up
  ip netns exec "${ns}" ip link set lo up
  ne::certs "${dir}/tls" "${addr}"
  mkdir -p "${dir}/data" "${dir}/exec"
  # No bridge, no iptables: containers use the namespace's network (the driver's --network host), and
  # the rules of this machine's engine are left alone.
  # nsenter, not `ip netns exec`: that remounts /sys, and dockerd needs the cgroup mounts under it.
  nsenter --net="/var/run/netns/${ns}" setsid dockerd \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --storage-driver="${IACT_DOCKER_STORAGE_DRIVER:-overlay2}" \
    --data-root "${dir}/data" --exec-root "${dir}/exec" --pidfile "${dir}/dockerd.pid" \
    -H "unix://${dir}/docker.sock" -H "tcp://${addr}:2376" \
    --tlsverify --tlscacert "${dir}/tls/ca.pem" --tlscert "${dir}/tls/server-cert.pem" --tlskey "${dir}/tls/server-key.pem" \
    </dev/null >>"${dir}/dockerd.log" 2>&1 &
  pid="$!"
  disown
  deadline=$((SECONDS + 60))
  until DOCKER_HOST="tcp://${addr}:2376" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="${dir}/tls" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; do
    if ((SECONDS >= deadline)) || [[ ! -e "/proc/${pid}" ]]; then
      tail -n 20 "${dir}/dockerd.log" >&2 || true
      ne::die "dockerd in ${ns} did not become ready" "read ${dir}/dockerd.log"
    fi
    sleep 0.2
  done
  printf 'DOCKER_HOST=tcp://%s:2376\nDOCKER_CERT_PATH=%s\nENGINE_ADDRESS=%s\n' "${addr}" "${dir}/tls" "${addr}"
}

ne::stop() {
  local dir="$1" n="$2" ns pid deadline
  ns="iact-engine-${n}"
  ip link set "iact${n}-h" up 2>/dev/null || true
  if [[ -f "${dir}/dockerd.pid" ]] && pid="$(<"${dir}/dockerd.pid")" && [[ "${pid}" =~ ^[0-9]+$ && "$(cat "/proc/${pid}/comm" 2>/dev/null)" == dockerd ]]; then
    # Its containers first (through its own socket), then the engine.
    DOCKER_HOST="unix://${dir}/docker.sock" timeout 60 docker ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="unix://${dir}/docker.sock" timeout 60 docker rm -f >/dev/null 2>&1 || true
    kill -TERM "${pid}"
    deadline=$((SECONDS + 30))
    while [[ -e "/proc/${pid}" ]] && ((SECONDS < deadline)); do sleep 0.1; done
    [[ -e "/proc/${pid}" ]] && kill -KILL "${pid}" 2>/dev/null
  fi
  # Whatever still runs in the namespace (a containerd shim) goes with it.
  if ip netns pids "${ns}" >/dev/null 2>&1; then
    ip netns pids "${ns}" | xargs -r kill -KILL 2>/dev/null || true
  fi
  ip link del "iact${n}-h" 2>/dev/null || true
  ip netns del "${ns}" 2>/dev/null || true
  if [[ -d "${dir}" ]]; then
    # Mounts left under the data root (overlay layers, shm) before the files go.
    grep -F " ${dir}/" /proc/mounts | awk '{ print $2 }' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "${dir}"
  fi
}

main() {
  local verb="${1:-}" dir="${2:-}" n="${3:-}"
  [[ "${dir}" == /* && ! "${dir}" =~ [[:space:]] ]] || ne::die "DIR must be an absolute path without blanks" "scripts/netns-docker-engine.sh start|stop DIR N"
  [[ "${n}" =~ ^[0-9]{1,3}$ ]] || ne::die "N must be 1..254" "scripts/netns-docker-engine.sh start|stop DIR N"
  ((n >= 1 && n <= 254)) || ne::die "N must be 1..254" "scripts/netns-docker-engine.sh start|stop DIR N"
  case "${verb}" in
    start) ne::start "${dir}" "${n}" ;;
    stop) ne::stop "${dir}" "${n}" ;;
    *) ne::die "unknown verb '${verb}'" "use start or stop" ;;
  esac
}

main "$@"
