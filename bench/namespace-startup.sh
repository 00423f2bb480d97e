#!/usr/bin/env bash
# Start-up cost of the namespace driver's bubblewrap sandbox (docs/namespace-sandbox.md) beside the
# driver of an earlier revision (default: the last commit before it, unshare + the host's service
# users): `start` until a password login works, for each service, median of N stop/start cycles;
# then the launchers alone around /usr/bin/true. Needs root.
# Usage: bench/namespace-startup.sh [--runs N] [--baseline REF] [--services "postgres mysql redis"]
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../bash/lib/common.sh
source "${ROOT_DIR}/bash/lib/common.sh"
# shellcheck source=lib.sh
source "${ROOT_DIR}/bench/lib.sh"

RUNS=5
BASELINE=415aef6~1
SERVICES="postgres mysql redis"
while (($# > 0)); do
  case "$1" in
    --runs) RUNS="$2" && shift 2 ;;
    --baseline) BASELINE="$2" && shift 2 ;;
    --services) SERVICES="$2" && shift 2 ;;
    *) iact::usage_error "unknown option '$1'" "usage: bench/namespace-startup.sh [--runs N] [--baseline REF] [--services LIST]" ;;
  esac
done
((EUID == 0)) || iact::die 1 "the namespace driver needs root" "run as root (sudo)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/iact-bench-ns.XXXXXX")"
chmod 0711 "${WORK}"
OLD="${WORK}/baseline"
mkdir -p "${OLD}" "${WORK}/project/environments"
git -C "${ROOT_DIR}" archive "${BASELINE}" bash | tar -x -C "${OLD}"
export IACT_SANDBOX_ROOT="${WORK}/project/.iact/sandboxes" IACT_TEMPLATE_DIR="${WORK}/templates"
declare -A SCRIPT=([baseline]="${OLD}/bash/wasm_style_sandbox.sh" [bubblewrap]="${ROOT_DIR}/bash/wasm_style_sandbox.sh")
CREATED=()

cleanup() {
  local entry
  for entry in "${CREATED[@]}"; do
    (cd "${WORK}/project" && bash "${SCRIPT[${entry%%:*}]}" destroy "${entry#*:}" --yes >/dev/null 2>&1) || true
  done
  rm -rf -- "${WORK}"
}
trap cleanup EXIT

cd "${WORK}/project"
printf '%-10s %-11s %12s %12s\n' service sandbox 'start (s)' 'stop (s)'
for service in ${SERVICES}; do
  for kind in baseline bubblewrap; do
    name="${kind}-${service}"
    bash "${SCRIPT[${kind}]}" create "${name}" "${service}" "$(free_port)" >/dev/null 2>&1 ||
      iact::die 1 "create of ${name} failed" "run: bash ${SCRIPT[${kind}]} create ${name} ${service} PORT"
    CREATED+=("${kind}:${name}")
    starts=() stops=()
    for ((i = 0; i < RUNS; i++)); do
      t0="$(now_us)"
      bash "${SCRIPT[${kind}]}" stop "${name}" >/dev/null 2>&1
      t1="$(now_us)"
      bash "${SCRIPT[${kind}]}" start "${name}" >/dev/null 2>&1
      t2="$(now_us)"
      stops+=($((t1 - t0)))
      starts+=($((t2 - t1)))
    done
    printf '%-10s %-11s %12s %12s\n' "${service}" "${kind}" "$(secs "$(median "${starts[@]}")")" "$(secs "$(median "${stops[@]}")")"
  done
done

# The launchers alone: what each adds before the server's own start.
lib64=()
[[ -e /usr/lib64 ]] && lib64=(--symlink usr/lib64 /lib64)
launch_unshare() { unshare --pid --fork --mount-proc --ipc --uts --net -- /usr/bin/true; }
launch_bwrap() {
  bwrap --unshare-ipc --unshare-pid --unshare-net --unshare-uts --unshare-cgroup --new-session --as-pid-1 \
    --cap-drop ALL --cap-add CAP_SETUID --cap-add CAP_SETGID --cap-add CAP_SETPCAP \
    --perms 0755 --dir /etc --proc /proc --dev /dev --perms 1777 --tmpfs /tmp --perms 1777 --tmpfs /dev/shm \
    --symlink usr/bin /bin --symlink usr/lib /lib "${lib64[@]}" --ro-bind /usr /usr --ro-bind /etc/ld.so.cache /etc/ld.so.cache \
    -- /usr/bin/setpriv --reuid=1879048191 --regid=1879048191 --clear-groups --bounding-set=-all --inh-caps=-all --no-new-privs -- /usr/bin/true
}
printf '\n%-30s %12s\n' launcher 'median (s)'
for launcher in launch_unshare launch_bwrap; do
  times=()
  for ((i = 0; i < RUNS * 4; i++)); do
    t0="$(now_us)"
    "${launcher}"
    times+=($(($(now_us) - t0)))
  done
  printf '%-30s %12s\n' "${launcher#launch_} + /usr/bin/true" "$(secs "$(median "${times[@]}")")"
done
