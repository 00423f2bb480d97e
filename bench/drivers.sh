#!/usr/bin/env bash
# Driver benchmark (issue 3): create-until-ready, status, stop and destroy for each driver x
# service, and `status --json` over 1000 `none` sandboxes in one call.
# Usage: bench/drivers.sh [--runs N] [--drivers "lightweight namespace"] [--services "..."] [--count 1000]
# Templates are made before timing (they are made once per machine). Ports are free ones.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../bash/lib/common.sh
source "${ROOT_DIR}/bash/lib/common.sh"
# shellcheck source=lib.sh
source "${ROOT_DIR}/bench/lib.sh"

RUNS=5
DRIVERS="lightweight namespace"
SERVICES="postgres mysql redis none"
COUNT=1000

declare -A SCRIPT=([lightweight]=lightweight_venv.sh [namespace]=wasm_style_sandbox.sh [docker]=virtualize.sh)
declare -A TARGET=([lightweight:postgres]=0.6 [lightweight:mysql]=0.6 [lightweight:redis]=0.1 [lightweight:none]=0.02)

bench_service() {
  local driver="$1" service="$2" script="${ROOT_DIR}/bash/${SCRIPT[$1]}" i name port creates=() statuses=() stops=() starts=() destroys=()
  # Warm-up: makes the template cluster once (not timed), like any machine after its first sandbox.
  name="warm-${service}"
  port="$(free_port)"
  "${script}" create "${name}" "${service}" "${port}" >/dev/null 2>&1
  "${script}" destroy "${name}" --yes >/dev/null 2>&1
  for ((i = 0; i < RUNS; i++)); do
    name="b-${service}-${i}"
    port="$(free_port)"
    creates+=("$(timed_us "${script}" create "${name}" "${service}" "${port}")")
    statuses+=("$(timed_us "${script}" status --json)")
    stops+=("$(timed_us "${script}" stop "${name}")")
    starts+=("$(timed_us "${script}" start "${name}")")
    destroys+=("$(timed_us "${script}" destroy "${name}" --yes)")
  done
  local c target verdict=''
  c="$(median "${creates[@]}")"
  target="${TARGET[${driver}:${service}]:-}"
  if [[ -n "${target}" ]]; then
    verdict="$(awk -v c="$(secs "${c}")" -v t="${target}" 'BEGIN { print (c <= t) ? "ok (<= " t " s)" : "SLOW (target " t " s)" }')"
  fi
  printf '%-12s %-9s %10s %10s %10s %10s %10s  %s\n' "${driver}" "${service}" "$(secs "${c}")" "$(secs "$(median "${statuses[@]}")")" \
    "$(secs "$(median "${stops[@]}")")" "$(secs "$(median "${starts[@]}")")" "$(secs "$(median "${destroys[@]}")")" "${verdict}"
}

# 1000 `none` sandboxes: one made by the script, the rest copies of its files with their own
# name (what the script writes for each), then one `status --json` call over all of them.
bench_status_many() {
  local script="${ROOT_DIR}/bash/lightweight_venv.sh" env_dir="${IACT_SANDBOX_ROOT}/development" i src dst json meta t1 t2 count runs=()
  "${script}" create many-0 none "$(free_port)" >/dev/null 2>&1
  src="${env_dir}/many-0"
  IFS= read -r -d '' json <"${src}/sandbox.json" || true
  IFS= read -r meta <"${src}/.meta"
  for ((i = 1; i < COUNT; i++)); do
    dst="${env_dir}/many-${i}"
    mkdir -p "${dst}/bin" "${dst}/logs" "${dst}/data" "${dst}/run" "${dst}/conf" "${dst}/secrets"
    printf '%s' "${json//\"many-0\"/\"many-${i}\"}" >"${dst}/sandbox.json"
    printf '%s\n' "${meta}" >"${dst}/.meta"
    : >"${dst}/.initialized"
    cp "${src}/bin/activate" "${dst}/bin/activate"
  done
  for ((i = 0; i < RUNS; i++)); do
    t1="$(now_us)"
    count="$("${script}" status --json | jq length)"
    t2="$(now_us)"
    runs+=($((t2 - t1)))
  done
  [[ "${count}" == "${COUNT}" ]] || {
    printf 'bench: status reported %s sandboxes, expected %s\n' "${count}" "${COUNT}" >&2
    exit 1
  }
  printf 'status --json over %d none sandboxes (one call, incl. jq length): median %s s (target <= 1 s)\n' "${COUNT}" "$(secs "$(median "${runs[@]}")")"
}

# Destroy whatever a failed run left (each script destroys only its own driver's sandboxes).
cleanup() {
  local s d
  for s in lightweight_venv.sh wasm_style_sandbox.sh; do
    for d in "${IACT_SANDBOX_ROOT}"/development/*/; do
      [[ -d "${d}" ]] && "${ROOT_DIR}/bash/${s}" destroy "$(basename "${d}")" --yes >/dev/null 2>&1
    done
  done
  rm -rf "${WORK}"
}

main() {
  while (($# > 0)); do
    case "$1" in
      --runs) RUNS="$2" && shift 2 ;;
      --drivers) DRIVERS="$2" && shift 2 ;;
      --services) SERVICES="$2" && shift 2 ;;
      --count) COUNT="$2" && shift 2 ;;
      *) iact::usage_error "unknown option '$1'" ;;
    esac
  done
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/iact-bench.XXXXXX")"
  chmod 0711 "${WORK}"
  export IACT_SANDBOX_ROOT="${WORK}/sandboxes" IACT_TEMPLATE_DIR="${IACT_TEMPLATE_DIR:-${TMPDIR:-/tmp}/iact-bench-templates}"
  export IACT_ENV=development
  trap cleanup EXIT
  cd "${WORK}"
  printf 'iact driver benchmark: %s, %s cores, load %s, median of %d runs (seconds)\n' "$(date -u +%FT%TZ)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "${RUNS}"
  printf '%-12s %-9s %10s %10s %10s %10s %10s\n' driver service create status stop start destroy
  local driver service
  for driver in ${DRIVERS}; do
    for service in ${SERVICES}; do
      bench_service "${driver}" "${service}"
    done
  done
  bench_status_many
}

main "$@"
