#!/usr/bin/env bash
# The docker driver on a remote engine beside the local one, same run: create-until-ready (a real
# password login over the network), status, destroy, per service, median of RUNS, interleaved so
# both see the same load. The remote engine is scripts/netns-docker-engine.sh's (TCP + TLS over a
# veth: the network cost is a round trip of well under a millisecond, the TLS handshake per docker
# call is what it adds). The local figures are the floor. Writes bench/results/docker-remote.json.
# Usage: bench/docker-remote.sh [RUNS]   (root; starts the private engine if none runs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
# shellcheck source=lib.sh
source "${ROOT}/bench/lib.sh"
readonly DRIVER="${ROOT}/bash/virtualize.sh"
readonly N=250

cleanup() {
  local service where
  for service in postgres mysql redis; do
    for where in local remote; do
      "${DRIVER}" destroy "bench-${where}-${service}" --yes --env benchr >/dev/null 2>&1 || true
    done
  done
  "${ROOT}/scripts/netns-docker-engine.sh" stop "${WORK}/engine" "${N}" >/dev/null 2>&1 || true
  rm -rf "${WORK}"
}

# Wall time in ms of one driver call in the bench's environment; the call must succeed.
timed() { timed_ms "${DRIVER}" "$@" --env benchr; }

# A spec for SERVICE on PORT, on the remote engine when ENGINE (JSON) is given.
spec() {
  local name="$1" service="$2" port="$3" engine="${4:-null}" file="${WORK}/${1}.json"
  jq -n --arg name "${name}" --arg service "${service}" --argjson port "${port}" --argjson engine "${engine}" \
    '{name: $name, service: $service, port: $port, settings: {}} + (if $engine == null then {} else {engine: $engine} end)' >"${file}"
  printf '%s' "${file}"
}

main() {
  local runs="${1:-3}" service i port where engine line host certs address
  [[ "${runs}" =~ ^[1-9][0-9]*$ ]] || {
    printf 'usage: bench/docker-remote.sh [RUNS]\n' >&2
    exit 2
  }
  eval "$("${ROOT}/scripts/docker-engine.sh" start)"
  "${ROOT}/scripts/docker-images.sh" >/dev/null 2>&1
  WORK="$(mktemp -d /tmp/iact-bench-remote.XXXXXX)"
  export IACT_SANDBOX_ROOT="${WORK}/sandboxes"
  trap cleanup EXIT
  while IFS= read -r line; do
    case "${line}" in
      DOCKER_HOST=*) host="${line#*=}" ;;
      DOCKER_CERT_PATH=*) certs="${line#*=}" ;;
      ENGINE_ADDRESS=*) address="${line#*=}" ;;
    esac
  done < <("${ROOT}/scripts/netns-docker-engine.sh" start "${WORK}/engine" "${N}")
  DOCKER_HOST="${host}" DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="${certs}" "${ROOT}/scripts/docker-images.sh" >/dev/null 2>&1
  engine="$(jq -cn --arg host "${host}" --arg certs "${certs}" --arg publish "${address}" \
    '{host: $host, tls: {ca: ($certs + "/ca.pem"), cert: ($certs + "/cert.pem"), key: ($certs + "/key.pem")}, publish: $publish}')"

  local -A create=() status=() destroy=()
  local -a c s d
  for service in postgres mysql redis; do
    for where in local remote; do
      c=() s=() d=()
      for ((i = 0; i < runs; i++)); do
        port="$(free_port)"
        if [[ "${where}" == local ]]; then
          c+=("$(timed create "bench-${where}-${service}" "${service}" "${port}" --spec "$(spec "bench-${where}-${service}" "${service}" "${port}")")")
        else
          c+=("$(timed create "bench-${where}-${service}" "${service}" "${port}" --spec "$(spec "bench-${where}-${service}" "${service}" "${port}" "${engine}")")")
        fi
        s+=("$(timed status "bench-${where}-${service}" --json)")
        d+=("$(timed destroy "bench-${where}-${service}" --yes)")
      done
      create["${where}-${service}"]="$(median "${c[@]}")"
      status["${where}-${service}"]="$(median "${s[@]}")"
      destroy["${where}-${service}"]="$(median "${d[@]}")"
    done
  done

  mkdir -p "${ROOT}/bench/results"
  {
    printf '{\n  "runs": %s,\n  "load_average": "%s",\n  "remote_engine": "%s (TLS, network namespace)",\n  "services": {\n' \
      "${runs}" "$(cut -d' ' -f1-3 /proc/loadavg)" "${host}"
    local sep=""
    for service in postgres mysql redis; do
      printf '%s    "%s": {' "${sep}" "${service}"
      printf '"local": {"create_until_ready_ms": %s, "status_ms": %s, "destroy_ms": %s}, ' \
        "${create[local-${service}]}" "${status[local-${service}]}" "${destroy[local-${service}]}"
      printf '"remote": {"create_until_ready_ms": %s, "status_ms": %s, "destroy_ms": %s}}' \
        "${create[remote-${service}]}" "${status[remote-${service}]}" "${destroy[remote-${service}]}"
      sep=$',\n'
    done
    printf '\n  }\n}\n'
  } >"${ROOT}/bench/results/docker-remote.json"

  printf '%-9s %-7s %10s %8s %9s   (ms, median of %s; load %s; remote: %s)\n' service engine create status destroy "${runs}" "$(cut -d' ' -f1 /proc/loadavg)" "${host}"
  for service in postgres mysql redis; do
    for where in local remote; do
      printf '%-9s %-7s %10s %8s %9s\n' "${service}" "${where}" "${create[${where}-${service}]}" "${status[${where}-${service}]}" "${destroy[${where}-${service}]}"
    done
  done
}

main "$@"
