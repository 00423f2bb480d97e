#!/usr/bin/env bash
# Docker driver timings: create-until-ready (a real password login), status, stop, start, destroy,
# per service, median of RUNS; plus status over every sandbox at once and, with --rebuild-images,
# the image build time. Writes bench/results/docker.json and prints a table.
# Usage: bench/docker.sh [RUNS] [--rebuild-images]   (root; starts the private engine if none runs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
# shellcheck source=lib.sh
source "${ROOT}/bench/lib.sh"
readonly DRIVER="${ROOT}/bash/virtualize.sh"

cleanup() {
  local name
  for name in bench-postgres bench-mysql bench-redis; do
    "${DRIVER}" destroy "${name}" --yes --env bench >/dev/null 2>&1 || true
  done
  rm -rf "${WORK}"
}

# Wall time in ms of one driver call in the bench's environment; the call must succeed.
timed() { timed_ms "${DRIVER}" "$@" --env bench; }

main() {
  local runs=3 rebuild=0 arg build_ms=null service i port
  for arg in "$@"; do
    case "${arg}" in
      --rebuild-images) rebuild=1 ;;
      [1-9]*) runs="${arg}" ;;
      *)
        printf 'usage: bench/docker.sh [RUNS] [--rebuild-images]\n' >&2
        exit 2
        ;;
    esac
  done
  eval "$("${ROOT}/scripts/docker-engine.sh" start)"
  if ((rebuild)); then
    local started
    started="$(now_ms)"
    "${ROOT}/scripts/docker-images.sh" --force
    build_ms=$(($(now_ms) - started))
  else
    "${ROOT}/scripts/docker-images.sh"
  fi

  WORK="$(mktemp -d /tmp/iact-bench-docker.XXXXXX)"
  export IACT_SANDBOX_ROOT="${WORK}/sandboxes"
  trap cleanup EXIT

  local -A create=() status=() stop=() start=() destroy=()
  local -a c s p t d
  for service in postgres mysql redis; do
    c=() s=() p=() t=() d=()
    for ((i = 0; i < runs; i++)); do
      port="$(free_port)"
      c+=("$(timed create "bench-${service}" "${service}" "${port}")")
      s+=("$(timed status "bench-${service}" --json)")
      p+=("$(timed stop "bench-${service}")")
      t+=("$(timed start "bench-${service}")")
      d+=("$(timed destroy "bench-${service}" --yes)")
    done
    create[${service}]="$(median "${c[@]}")"
    status[${service}]="$(median "${s[@]}")"
    stop[${service}]="$(median "${p[@]}")"
    start[${service}]="$(median "${t[@]}")"
    destroy[${service}]="$(median "${d[@]}")"
  done

  # status of every sandbox at once: one docker ps + one docker inspect, whatever the count.
  local all_status
  for service in postgres mysql redis; do
    "${DRIVER}" create "bench-${service}" "${service}" "$(free_port)" --env bench >/dev/null 2>&1
  done
  s=()
  for ((i = 0; i < runs; i++)); do s+=("$(timed status --json)"); done
  all_status="$(median "${s[@]}")"

  mkdir -p "${ROOT}/bench/results"
  {
    printf '{\n  "runs": %s,\n  "load_average": "%s",\n  "image_build_ms": %s,\n  "status_all_3_ms": %s,\n  "services": {\n' \
      "${runs}" "$(cut -d' ' -f1-3 /proc/loadavg)" "${build_ms}" "${all_status}"
    local sep=""
    for service in postgres mysql redis; do
      printf '%s    "%s": {"create_until_ready_ms": %s, "status_ms": %s, "stop_ms": %s, "start_until_ready_ms": %s, "destroy_ms": %s}' \
        "${sep}" "${service}" "${create[${service}]}" "${status[${service}]}" "${stop[${service}]}" "${start[${service}]}" "${destroy[${service}]}"
      sep=$',\n'
    done
    printf '\n  }\n}\n'
  } >"${ROOT}/bench/results/docker.json"

  printf '%-9s %10s %8s %8s %8s %9s   (ms, median of %s; load %s)\n' service create status stop start destroy "${runs}" "$(cut -d' ' -f1 /proc/loadavg)"
  for service in postgres mysql redis; do
    printf '%-9s %10s %8s %8s %8s %9s\n' "${service}" "${create[${service}]}" "${status[${service}]}" "${stop[${service}]}" "${start[${service}]}" "${destroy[${service}]}"
  done
  printf 'status --json of all 3 sandboxes: %s ms\n' "${all_status}"
  [[ "${build_ms}" == null ]] || printf 'image build (all three, --force): %s ms\n' "${build_ms}"
}

main "$@"
