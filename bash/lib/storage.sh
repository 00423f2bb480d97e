#!/usr/bin/env bash
# Copy-on-write storage of sandbox data directories, snapshots and branches (docs/data.md).
# A sandbox's data/ is either a plain directory (storage "copy" or "reflink") or an overlayfs mount
# (storage "overlay"): read-only lower layers (a template, snapshot layers) under the sandbox's own
# upper directory, kept in SB_DIR/.layer/ {upper, work, lowers}. A snapshot freezes the upper as a new
# layer in SB_ROOT/.layers/<id>/data, so it costs a rename whatever the data's size; a lasting
# sandbox's template is imported there too (template-<name>), so no sandbox needs the cache. A layer
# is kept while a holder (a sandbox's .layer/lowers, a snapshot's lowers) names it: holders leave a
# ref file in the layer's refs/ and a layer nobody holds is removed (store::gc).
# Sourced after common.sh, sandbox.sh and services.sh; reads the SB_* globals.

[[ -n "${IACT_STORAGE_SH:-}" ]] && return 0
IACT_STORAGE_SH=1

readonly STORE_MODES='overlay reflink copy'

# REPLY = the storage this machine gives a data directory under DIR, REASON why (docs/data.md
# "Storage"): overlay when we are root and the kernel has overlayfs, reflink when DIR's filesystem
# clones files (cp --reflink), else copy. IACT_STORAGE=overlay|reflink|copy forces one.
store::mode() {
  local dir="$1" probe='' forced=''
  sb::setting IACT_STORAGE && forced="${REPLY}"
  if [[ -n "${forced}" ]]; then
    [[ " ${STORE_MODES} " == *" ${forced} "* ]] || iact::usage_error "IACT_STORAGE must be one of: ${STORE_MODES}, not '${forced}'"
    REPLY="${forced}" REASON="IACT_STORAGE=${forced}"
    [[ "${forced}" != overlay || "${SB_DRIVER:-}" != namespace ]] && return 0
  fi
  # The namespace driver chowns data/ to a uid of its own per sandbox: on a layer that copies every file up.
  if ((EUID == 0)) && [[ "${SB_DRIVER:-}" != namespace ]] && store::kernel_has overlay; then
    REPLY=overlay REASON="root and the kernel has overlayfs: a layer over the template, no copy"
    return 0
  fi
  # The nearest directory that exists is on the same filesystem (doctor asks before any sandbox exists).
  while [[ ! -d "${dir}" && "${dir}" == /?* ]]; do dir="${dir%/*}"; done
  dir="${dir:-/}"
  if probe="$(mktemp "${dir}/.reflink-probe.XXXXXX" 2>/dev/null)" && cp --reflink=always -- "${probe}" "${probe}.clone" 2>/dev/null; then
    REPLY=reflink REASON="the filesystem of ${dir} clones files (cp --reflink)"
  else
    REPLY=copy
    if ((EUID != 0)); then REASON="not root (overlayfs needs root) and no reflinks on ${dir}"; else REASON="no overlayfs in this kernel and no reflinks on ${dir}"; fi
  fi
  [[ -z "${probe:-}" ]] || rm -f -- "${probe}" "${probe}.clone"
}

store::kernel_has() {
  local want="$1" a b
  while read -r a b; do
    [[ "${b:-${a}}" == "${want}" ]] && return 0
  done </proc/filesystems
  return 1
}

# True when PATH is a mount point: listed in /proc/self/mountinfo (no subprocess), or else on another
# device than its parent. A read of mountinfo while other sandboxes mount or unmount can miss a line
# (the kernel restarts its listing between reads), and a missed overlay would be mounted twice or
# left mounted under rm; the overlay has a device of its own, so stat catches what the read missed.
store::mounted() {
  local path="$1" _a _b _c _d point _rest devs
  while read -r _a _b _c _d point _rest; do
    [[ "${point}" == "${path}" ]] && return 0
  done </proc/self/mountinfo
  # Never through a link: a mount point iact unmounts is a directory of the sandbox itself.
  [[ -d "${path}" && ! -L "${path}" ]] || return 1
  devs="$(stat -c %d -- "${path}" "${path%/*}" 2>/dev/null)" || return 1
  [[ "${devs%%$'\n'*}" != "${devs##*$'\n'}" ]]
}

store::is_layered() { [[ -f "${1}/.layer/lowers" ]]; }

# Paths go into a mount option string: ',' ':' '\' and blanks would split it.
store::mountable_path() { [[ "$1" != *[,:\\[:space:]]* ]]; }

# Mounts SB_DIR/data over the layers in SB_DIR/.layer/lowers (after a reboot, or a new stack).
store::mount() {
  local dir="${SB_DIR}" lowers=() l opts out
  mapfile -t lowers <"${dir}/.layer/lowers"
  for l in "${lowers[@]}"; do
    [[ -d "${l}" ]] || iact::die 1 "layer ${l} of sandbox '${dir##*/}' is gone" "restore it, or destroy the sandbox and create it again" not-found
  done
  local IFS=:
  opts="lowerdir=${lowers[*]},upperdir=${dir}/.layer/upper,workdir=${dir}/.layer/work,index=off"
  IFS=$' \t\n'
  [[ -d "${dir}/data" && ! -L "${dir}/data" ]] || mkdir -p -- "${dir}/data"
  # Renaming a directory of a lower layer needs redirect_dir (postgres, mariadb rename few; some do).
  out="$(mount -t overlay overlay -o "${opts},redirect_dir=on" "${dir}/data" 2>&1)" ||
    out="$(mount -t overlay overlay -o "${opts}" "${dir}/data" 2>&1)" ||
    iact::die 1 "could not mount the overlay data directory of '${dir##*/}': ${out}" "run iact doctor; IACT_STORAGE=copy makes plain copies instead" io
}

# True when every layer of SB_DIR's stack is there: what its mount needs.
store::layers_present() {
  local l lowers=()
  [[ -d "${SB_DIR}/.layer/upper" ]] || return 1
  mapfile -t lowers <"${SB_DIR}/.layer/lowers"
  for l in "${lowers[@]}"; do
    [[ -d "${l}" ]] || return 1
  done
}

# Mounts data/ when it is not. With "stopped" (no server works in data/), a mount over the cache's
# template (a sandbox made before templates were imported) is remade over the store's copy of it.
store::ensure_mounted() {
  store::is_layered "${SB_DIR}" || return 0
  if store::mounted "${SB_DIR}/data"; then
    [[ "${1:-}" == stopped ]] && store::over_template || return 0
    # Busy (a shell in data/): it stays as it is until a later start.
    umount -- "${SB_DIR}/data" 2>/dev/null || return 0
  fi
  if store::over_template; then store::adopt_templates; fi
  store::mount
}

store::umount() {
  local dir="${1:-${SB_DIR}}"
  store::mounted "${dir}/data" || return 0
  umount -- "${dir}/data" 2>/dev/null || umount -l -- "${dir}/data"
}

# Gives SB_DIR/data the contents of the layer stack LOWER... (top first; a plain data directory or
# frozen layers): an overlay over them, a reflinked copy, or a copy. Whatever data/ held is gone.
store::seed() {
  local lowers=("$@") mode tmp
  store::release_data
  store::mode "${SB_DIR}"
  mode="${REPLY}"
  if [[ "${mode}" == overlay ]]; then
    local l ok=1
    for l in "${lowers[@]}" "${SB_DIR}" "${SB_ROOT}"; do store::mountable_path "${l}" || ok=0; done
    if ((ok)); then
      store::layer_dirs
      store::hold "${lowers[@]}"
      store::mount
      STORE_USED=overlay
      return 0
    fi
    iact::warn "a path of ${SB_NAME}'s layers holds a character overlayfs options cannot carry; copying instead"
    mode=copy
  fi
  tmp="${SB_DIR}/.data-seed"
  rm -rf -- "${tmp}"
  if ((${#lowers[@]} == 1)); then
    cp -a --reflink=auto -- "${lowers[0]}" "${tmp}"
  else
    # Frozen layers hold whiteouts: only overlayfs reads the stack right; copy from a read-only mount of it.
    store::copy_stack "${tmp}" "${lowers[@]}"
  fi
  rm -rf -- "${SB_DIR}/data"
  mv -- "${tmp}" "${SB_DIR}/data"
  chmod 0700 "${SB_DIR}/data"
  STORE_USED="${mode}"
}

store::copy_stack() {
  local dest="$1" view
  shift
  view="$(mktemp -d "${SB_DIR}/.stack-view.XXXXXX")"
  local IFS=:
  mount -t overlay overlay -o "ro,lowerdir=$*" "${view}" || iact::die 1 "could not read the layers of a snapshot" "run as root (a snapshot made with overlayfs is read through it)" io
  IFS=$' \t\n'
  cp -a -- "${view}" "${dest}" || true
  umount -- "${view}"
  rmdir -- "${view}"
}

# The upper and work directories of an overlay sandbox; the upper is the data directory's root,
# so it carries the mode and owner the server checks (0700, the service user).
store::layer_dirs() {
  if [[ -e "${SB_DIR}/.layer" || -L "${SB_DIR}/.layer" ]]; then rm -rf -- "${SB_DIR}/.layer"; fi
  # shellcheck disable=SC2174 # -m is for upper and work; .layer itself gets 0700 from the drivers' umask 077
  mkdir -p -m 0700 -- "${SB_DIR}/.layer/upper" "${SB_DIR}/.layer/work"
  if ((EUID == 0)) && [[ "${SB_OS_USER:-root}" != root ]]; then chown "${SB_OS_USER}:" "${SB_DIR}/.layer/upper"; fi
  return 0
}

# Unmounts and removes data/ and .layer/ of SB_DIR; layers only this sandbox held are removed.
store::release_data() {
  local lowers=()
  store::umount "${SB_DIR}"
  if store::is_layered "${SB_DIR}"; then
    mapfile -t lowers <"${SB_DIR}/.layer/lowers"
    rm -rf -- "${SB_DIR}/.layer"
    store::gc "${lowers[@]}"
  fi
  # A new sandbox's data/ is an empty directory (sb::make_dirs): nothing to remove, no rm process.
  if [[ -d "${SB_DIR}/data" && ! -L "${SB_DIR}/data" ]] && store::empty_dir "${SB_DIR}/data"; then return 0; fi
  rm -rf -- "${SB_DIR}/data"
}

# True when DIR has no entry at all (dot files included).
store::empty_dir() {
  local entries=()
  entries=("$1"/* "$1"/.[!.]* "$1"/..?*)
  local e
  for e in "${entries[@]}"; do
    [[ -e "${e}" || -L "${e}" ]] && return 1
  done
  return 0
}

# --- layers and their holders ------------------------------------------------------------------

store::is_store_layer() { [[ "$1" == */.layers/*/data ]]; }

store::ref_name() {
  local sum
  sum="$(printf '%s' "$1" | sha256sum)"
  REPLY="${sum:0:32}"
}

# HOLDER (a directory) holds every store layer listed in LOWERS_FILE.
store::ref_all() {
  local holder="$1" file="$2" l
  REPLY=''
  while IFS= read -r l; do
    store::is_store_layer "${l}" || continue
    # Hashed once, and only for a store layer (a template is none: the common create hashes nothing).
    [[ -n "${REPLY}" ]] || store::ref_name "${holder}"
    [[ -d "${l%/data}/refs" ]] || mkdir -p -- "${l%/data}/refs"
    printf '%s\n%s\n' "${holder}" "${file}" >"${l%/data}/refs/${REPLY}"
  done <"${file}"
}

# Removes every store layer among LAYER... that no live holder names any more.
store::gc() {
  local l ref holder file held locked=0
  for l in "$@"; do
    if ! store::is_store_layer "${l}" || [[ ! -d "${l}" ]]; then continue; fi
    # One stack's layers share one store (a template's copy is in it too).
    ((locked)) || store::lock "${l%/*/data}"
    locked=1
    held=0
    for ref in "${l%/data}"/refs/*; do
      [[ -f "${ref}" ]] || continue
      { IFS= read -r holder && IFS= read -r file; } <"${ref}" || true
      if [[ -f "${file}" ]] && grep -qxF -- "${l}" "${file}"; then
        held=1
      else
        rm -f -- "${ref}"
      fi
    done
    ((held)) || rm -rf -- "${l%/data}"
  done
  ((!locked)) || store::unlock
}

# The lock of layer store STORE (a .layers directory): an import, the holders a sandbox takes and a
# collection never interleave (two creates import a template once; a destroy never removes a layer
# a create takes).
store::lock() {
  local store="$1"
  store::make_store "${store}"
  exec {STORE_LOCK_FD}>"${store}/.lock"
  flock -w 300 "${STORE_LOCK_FD}" || iact::die 1 "timed out waiting for the lock of ${store}" "remove ${store}/.lock if no other iact runs" locked
}

store::unlock() { exec {STORE_LOCK_FD}>&-; }

# The layer store, root's alone: overlayfs reads lower layers with the mounter's rights, and a
# service user that could reach a hard-linked template file would write into every sandbox made from it.
store::make_store() {
  [[ -d "$1" ]] || mkdir -m 0700 -- "$1" 2>/dev/null || [[ -d "$1" ]] ||
    iact::die 1 "could not make the layer store $1" "check that ${1%/*} exists and root can write it" io
}

# --- templates as layers (docs/data.md "Storage") ------------------------------------------------

# A template is a data/ that svc::ensure_template finished (.complete beside it), outside the store.
store::is_template() { [[ "$1" == */data && -f "${1%/data}/.complete" ]] && ! store::is_store_layer "$1"; }

# iact run and withSandbox sandboxes die with their process: they lie over the cache's template
# itself (no import to pay for). The TS driver says so (IACT_DRIVER_EPHEMERAL=1); the mark stays.
store::ephemeral() { [[ "${IACT_DRIVER_EPHEMERAL:-}" == 1 || -f "${SB_DIR}/.layer/ephemeral" ]]; }

# Writes LOWER... as SB_DIR's layer stack and holds its store layers; a template becomes the store's
# copy of it unless the sandbox is ephemeral.
store::hold() {
  local lowers=("$@") i eph=0 store=''
  if store::ephemeral; then
    eph=1
    : >"${SB_DIR}/.layer/ephemeral"
  fi
  # The store that holds the stack's layers, or gets the template's copy; none for the common
  # ephemeral create (a template alone), which takes no lock.
  for i in "${!lowers[@]}"; do
    if ((!eph)) && store::is_template "${lowers[i]}"; then
      store="${SB_ROOT}/.layers"
      break
    fi
    if [[ -z "${store}" ]] && store::is_store_layer "${lowers[i]}"; then store="${lowers[i]%/*/data}"; fi
  done
  [[ -z "${store}" ]] || store::lock "${store}"
  for i in "${!lowers[@]}"; do
    if ((eph)) || ! store::is_template "${lowers[i]}"; then continue; fi
    store::import_template "${lowers[i]}" || iact::die 1 "${REPLY}" "free space on that filesystem (the template's size), then apply again" io
    lowers[i]="${REPLY}"
  done
  printf '%s\n' "${lowers[@]}" >"${SB_DIR}/.layer/lowers"
  store::ref_all "${SB_DIR}" "${SB_DIR}/.layer/lowers"
  [[ -z "${store}" ]] || store::unlock
}

# REPLY = the store layer that holds a copy of template data directory TDATA, imported now when the
# store has none (failing: what went wrong). One per template version (its directory's name), shared
# by every sandbox made from it. Call with the store locked. Hard links where template and store
# share a filesystem (no data copied: about 35 ms for PostgreSQL's 1300 files), else a reflinked or
# plain copy.
store::import_template() {
  local tdata="$1" name id layer tmp out
  name="${tdata%/data}"
  name="${name##*/}"
  if [[ "${name}" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]]; then
    id="template-${name}"
  else
    store::ref_name "${tdata}"
    id="template-${REPLY}"
  fi
  layer="${SB_ROOT}/.layers/${id}/data"
  REPLY="${layer}"
  [[ ! -d "${layer}" ]] || return 0
  tmp="${SB_ROOT}/.layers/.import-${id}"
  # Left by a killed import, or a layer whose data/ went missing.
  if [[ -e "${tmp}" || -e "${layer%/data}" ]]; then rm -rf -- "${tmp}" "${layer%/data}"; fi
  mkdir -p -- "${tmp}/refs"
  # Hard links are safe: a layer is only ever a read-only lower (overlayfs copies a file up before any write).
  if ! cp -al -- "${tdata}" "${tmp}/data" 2>/dev/null; then
    rm -rf -- "${tmp}/data"
    iact::info "copying the template ${tdata%/data} into ${SB_ROOT}/.layers once (another filesystem: no hard links)"
    if ! out="$(cp -a --reflink=auto -- "${tdata}" "${tmp}/data" 2>&1)"; then
      rm -rf -- "${tmp}"
      REPLY="could not copy the template ${tdata%/data} into ${SB_ROOT}/.layers: ${out}"
      return 1
    fi
  fi
  mv -T -- "${tmp}" "${layer%/data}"
}

# True when SB_DIR's layer stack names a template of the cache (made before templates were imported).
store::over_template() {
  local l lowers=()
  ! store::ephemeral || return 1
  mapfile -t lowers <"${SB_DIR}/.layer/lowers"
  for l in "${lowers[@]}"; do
    store::is_template "${l}" && return 0
  done
  return 1
}

# The sandbox (unmounted) and its snapshots take the store's copy of the templates they lie over;
# each lowers file is replaced by a rename, so a kill leaves the old stack or the new one.
store::adopt_templates() {
  local f holder
  store::lock "${SB_ROOT}/.layers"
  for f in "${SB_DIR}/.layer/lowers" "${SB_ENV_DIR}/.snapshots/${SB_NAME}"/*/lowers; do
    [[ -f "${f}" ]] || continue
    holder="${f%/lowers}"
    [[ "${f}" != "${SB_DIR}/.layer/lowers" ]] || holder="${SB_DIR}"
    store::adopt_file "${holder}" "${f}"
  done
  store::unlock
}

store::adopt_file() {
  local holder="$1" file="$2" lowers=() i changed=0
  mapfile -t lowers <"${file}"
  for i in "${!lowers[@]}"; do
    store::is_template "${lowers[i]}" || continue
    # It still runs over the template (still there); the next start tries again.
    store::import_template "${lowers[i]}" || { iact::warn "${REPLY}; ${holder##*/} keeps using the template in the cache for now"; continue; }
    lowers[i]="${REPLY}"
    changed=1
  done
  ((changed)) || return 0
  printf '%s\n' "${lowers[@]}" >"${file}.new"
  mv -f -- "${file}.new" "${file}"
  store::ref_all "${holder}" "${file}"
}

# --- snapshots -----------------------------------------------------------------------------------

readonly STORE_SNAPSHOT_RE='^[a-z0-9][a-z0-9._-]{0,62}$'

store::validate_snapshot_name() {
  [[ "$1" =~ ${STORE_SNAPSHOT_RE} && "$1" != *..* ]] || iact::usage_error "invalid snapshot name '$1'" "use lowercase letters, digits, '.', '-' and '_' (at most 63), starting with a letter or digit"
}

store::snapshot_dir() { REPLY="${SB_ENV_DIR}/.snapshots/${SB_NAME}/$1"; }

# Freezes SB_DIR/data (the server stopped) into the snapshot directory SNAPDIR: overlay moves the
# upper into a new store layer (O(1)) and the sandbox goes on over it; copy/reflink copies data/.
store::freeze() {
  local snapdir="$1" id mode layer owner=''
  store::mode "${SB_DIR}"
  mode="${REPLY}"
  mkdir -p -- "${snapdir}"
  if [[ "${mode}" == overlay ]] && store::mountable_path "${SB_DIR}" && store::mountable_path "${SB_ROOT}"; then
    id="$(date -u +%Y%m%dT%H%M%S)-${SRANDOM}"
    layer="${SB_ROOT}/.layers/${id}/data"
    store::make_store "${SB_ROOT}/.layers"
    mkdir -p -- "${layer%/data}"
    local lowers=()
    if store::is_layered "${SB_DIR}"; then
      store::umount "${SB_DIR}"
      mapfile -t lowers <"${SB_DIR}/.layer/lowers"
      mv -- "${SB_DIR}/.layer/upper" "${layer}"
    else
      # A plain data directory becomes the first layer of the stack.
      mv -- "${SB_DIR}/data" "${layer}"
    fi
    ((EUID == 0)) && owner="$(stat -c %U -- "${layer}")"
    lowers=("${layer}" "${lowers[@]}")
    printf '%s\n' "${lowers[@]}" >"${snapdir}/lowers"
    store::ref_all "${snapdir}" "${snapdir}/lowers"
    local eph=0
    ! store::ephemeral || eph=1
    SB_OS_USER="${owner:-${SB_OS_USER:-root}}" store::layer_dirs
    ((!eph)) || : >"${SB_DIR}/.layer/ephemeral"
    printf '%s\n' "${lowers[@]}" >"${SB_DIR}/.layer/lowers"
    store::ref_all "${SB_DIR}" "${SB_DIR}/.layer/lowers"
    store::mount
    STORE_USED=overlay
  else
    [[ "${mode}" == overlay ]] && mode=copy
    if store::is_layered "${SB_DIR}"; then
      # An overlay sandbox on a machine (or setting) without overlay: copy its merged view.
      cp -a -- "${SB_DIR}/data" "${snapdir}/data"
    else
      cp -a --reflink=auto -- "${SB_DIR}/data" "${snapdir}/data"
    fi
    STORE_USED="${mode}"
  fi
}

# The layer stack a branch or restore starts from: STORE_LOWERS=(...) of snapshot SNAPDIR.
store::snapshot_layers() {
  local snapdir="$1"
  STORE_LOWERS=()
  if [[ -f "${snapdir}/lowers" ]]; then
    mapfile -t STORE_LOWERS <"${snapdir}/lowers"
  elif [[ -d "${snapdir}/data" ]]; then
    STORE_LOWERS=("${snapdir}/data")
  else
    iact::die 1 "snapshot ${snapdir##*/} has no data" "delete it and take it again" not-found
  fi
}

# Removes snapshot directory SNAPDIR; its layers stay while a sandbox or another snapshot holds them.
store::delete_snapshot() {
  local snapdir="$1" lowers=()
  [[ -f "${snapdir}/lowers" ]] && mapfile -t lowers <"${snapdir}/lowers"
  rm -rf -- "${snapdir}"
  ((${#lowers[@]} == 0)) || store::gc "${lowers[@]}"
  rmdir -- "${snapdir%/*}" 2>/dev/null || true
}

# --- verbs (docs/driver-protocol.md "Snapshots and branches") -----------------------------------

store::no_docker() {
  [[ "${SB_DRIVER}" != docker ]] || iact::die 2 "the docker driver has no snapshots or branches yet" "use the lightweight or namespace driver for sandboxes you snapshot or branch"
}

# A consistent point of a running server: the server is stopped cleanly (the one state every service
# shares that needs no recovery), frozen, and started again. CHECKPOINT first keeps the stop short.
store::pause() {
  STORE_WAS_RUNNING=0
  [[ "${SB_SERVICE}" == none ]] && return 0
  if sb::is_running; then
    STORE_WAS_RUNNING=1
    svc::call checkpoint || true
    drv::stop_processes
  fi
  store::ensure_mounted stopped
}

store::resume() {
  ((STORE_WAS_RUNNING)) || return 0
  drv::prepare
  sb::start_service
  sb::wait_login
}

# snapshot NAME [SNAPSHOT] [--json]: prints the snapshot's record (JSON) on stdout.
sb::cmd_snapshot() {
  local snap snapdir tmp version=''
  sb::need_args snapshot 1 2 'NAME [SNAPSHOT]'
  store::no_docker
  sb::locate "${ARG_POS[0]}"
  snap="${ARG_POS[1]:-$(date -u +%Y%m%d-%H%M%S)}"
  store::validate_snapshot_name "${snap}"
  drv::prerequisites
  sb::load_existing
  sb::lock
  store::snapshot_dir "${snap}"
  snapdir="${REPLY}"
  [[ ! -e "${snapdir}/snapshot.json" ]] || iact::die 2 "sandbox '${SB_NAME}' already has a snapshot '${snap}'" "choose another name, or delete it first: snapshot-delete ${SB_NAME} ${snap}"
  # Left by a snapshot that never finished: not a snapshot (no snapshot.json).
  [[ ! -e "${snapdir}" ]] || store::delete_snapshot "${snapdir}"
  store::pause
  REPLY=''
  svc::call data_version && version="${REPLY}"
  store::freeze "${snapdir}"
  store::resume
  tmp="$(jq -cn --arg sandbox "${SB_NAME}" --arg environment "${SB_ENV}" --arg name "${snap}" --arg service "${SB_SERVICE}" \
    --arg driver "${SB_DRIVER}" --arg version "${version}" --arg database "${SB_DB:-}" --arg user "${SB_USER:-}" \
    --arg storage "${STORE_USED}" --arg created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg dir "${snapdir}" \
    '{sandbox: $sandbox, environment: $environment, name: $name, service: $service, driver: $driver, version: $version,
      database: $database, user: $user, storage: $storage, created: $created, dir: $dir}')"
  sb::write_file "${snapdir}/snapshot.json" "${tmp}"$'\n'
  printf '%s\n' "${tmp}"
  iact::info "snapshot ${SB_NAME}@${snap} taken (${STORE_USED}$( ((STORE_WAS_RUNNING)) && printf '; the server was stopped and started for it'))"
}

# snapshots [NAME...] --json: every snapshot of the environment (of NAME... when given), one JSON array.
sb::cmd_snapshots() {
  local files=() n
  sb::locate
  shopt -s nullglob
  if ((${#ARG_POS[@]} > 0)); then
    for n in "${ARG_POS[@]}"; do
      iact::validate_name "${n}"
      files+=("${SB_ENV_DIR}/.snapshots/${n}"/*/snapshot.json)
    done
  else
    files=("${SB_ENV_DIR}"/.snapshots/*/*/snapshot.json)
  fi
  if ((${#files[@]} == 0)); then
    printf '[]\n'
    return 0
  fi
  iact::need_binary jq "apt-get install -y jq"
  jq -cs 'sort_by(.sandbox, .created, .name)' "${files[@]}"
}

sb::cmd_snapshot_delete() {
  local snapdir
  sb::need_args snapshot-delete 2 2 'NAME SNAPSHOT'
  store::no_docker
  sb::locate "${ARG_POS[0]}"
  store::validate_snapshot_name "${ARG_POS[1]}"
  store::snapshot_dir "${ARG_POS[1]}"
  snapdir="${REPLY}"
  [[ -d "${snapdir}" ]] || iact::die 1 "sandbox '${SB_NAME}' has no snapshot '${ARG_POS[1]}' in ${SB_ENV}" "list them: snapshots ${SB_NAME} --env ${SB_ENV}" not-found
  sb::lock
  store::delete_snapshot "${snapdir}"
  iact::info "snapshot ${SB_NAME}@${ARG_POS[1]} deleted"
}

# restore NAME SNAPSHOT: the sandbox's data becomes the snapshot's (what it holds now is lost: iact
# takes a backup first); it runs afterwards as it did before, with its own config and password.
sb::cmd_restore() {
  local snapdir was
  sb::need_args restore 2 2 'NAME SNAPSHOT'
  store::no_docker
  sb::locate "${ARG_POS[0]}"
  store::validate_snapshot_name "${ARG_POS[1]}"
  drv::prerequisites
  sb::load_existing
  store::snapshot_dir "${ARG_POS[1]}"
  snapdir="${REPLY}"
  [[ -f "${snapdir}/snapshot.json" ]] || iact::die 1 "sandbox '${SB_NAME}' has no snapshot '${ARG_POS[1]}' in ${SB_ENV}" "list them: snapshots ${SB_NAME} --env ${SB_ENV}" not-found
  sb::lock
  store::pause
  was="${STORE_WAS_RUNNING}"
  store::snapshot_layers "${snapdir}"
  store::seed "${STORE_LOWERS[@]}"
  store::start_seeded
  if ((!was)) && [[ "${SB_SERVICE}" != none ]]; then drv::stop_processes; fi
  iact::info "sandbox ${SB_NAME} restored from ${ARG_POS[1]} (${STORE_USED})"
}

# After data/ was seeded from a snapshot: the sandbox's own config, a start, its credentials.
store::start_seeded() {
  sb::remove_existing "${SB_DIR}"/run/*.pid "${SB_DIR}/data/postmaster.pid"
  svc::write_config
  [[ "${SB_SERVICE}" == none ]] && return 0
  drv::prepare
  sb::start_service
  svc::ensure_credentials || iact::die 1 "could not set the credentials of sandbox '${SB_NAME}'" "see ${SB_DIR}/logs/" login-failed
  sb::wait_login
}

# storage [--json]: which storage a new data directory gets on this machine, and why.
sb::cmd_storage() {
  sb::locate
  store::mode "${SB_ROOT}"
  printf '{"storage":"%s","reason":%s,"root":%s}\n' "${REPLY}" "$(iact::json_str "${REASON}")" "$(iact::json_str "${SB_ROOT}")"
}

# --- branches ------------------------------------------------------------------------------------

# The spec's `from` (docs/data.md "Branches"): FROM_SANDBOX, FROM_SNAPSHOT (empty: its data now),
# FROM_ENV, FROM_ROOT. --from SRC[@SNAP] on the command line names a sandbox of the same environment.
# `from` is an instruction to create, not state: it leaves SB_OBSERVED_JSON (sandbox.json, whose
# hash plans compare). Call it right after the spec is read; store::has_from tells the result.
store::take_from() {
  local line=''
  FROM_SANDBOX='' FROM_SNAPSHOT='' FROM_ENV="${SB_ENV}" FROM_ROOT="${SB_ROOT}"
  if [[ "${SB_OBSERVED_JSON}" == *'"from":'* ]]; then
    line="$(jq -r '.from | if type == "object" then [.sandbox // "", .snapshot // "", .environment // "", .root // ""] | join("\u001f") else "" end' <<<"${SB_OBSERVED_JSON}")"
    IFS=$'\x1f' read -r FROM_SANDBOX FROM_SNAPSHOT FROM_ENV FROM_ROOT <<<"${line}"
    FROM_ENV="${FROM_ENV:-${SB_ENV}}" FROM_ROOT="${FROM_ROOT:-${SB_ROOT}}"
    SB_OBSERVED_JSON="$(jq -c 'del(.from)' <<<"${SB_OBSERVED_JSON}")"
  fi
  if [[ -n "${ARG_FROM:-}" ]]; then
    FROM_SANDBOX="${ARG_FROM%%@*}" FROM_SNAPSHOT=''
    [[ "${ARG_FROM}" == *@* ]] && FROM_SNAPSHOT="${ARG_FROM#*@}"
  fi
  [[ -n "${FROM_SANDBOX}" ]] || return 0
  iact::validate_name "${FROM_SANDBOX}"
  iact::validate_environment "${FROM_ENV}"
  [[ -z "${FROM_SNAPSHOT}" ]] || store::validate_snapshot_name "${FROM_SNAPSHOT}"
  [[ "${FROM_ROOT}" == /* ]] || iact::usage_error "from.root must be an absolute path"
  [[ "${FROM_SANDBOX}" != "${SB_NAME}" || "${FROM_ENV}" != "${SB_ENV}" || "${FROM_ROOT}" != "${SB_ROOT}" ]] || iact::usage_error "sandbox '${SB_NAME}' cannot be a branch of itself"
}

store::has_from() { [[ -n "${FROM_SANDBOX:-}" ]]; }

store::driver_script() {
  case "$1" in
    lightweight) REPLY=lightweight_venv.sh ;;
    namespace) REPLY=wasm_style_sandbox.sh ;;
    *) iact::die 2 "a branch of a ${1} sandbox is not supported yet" "branch sandboxes of the lightweight or namespace driver" ;;
  esac
}

# Fills data/ of a new branch from FROM_*: a named snapshot's layers, or (no snapshot named) a
# snapshot taken now by the source's own driver, which stops and starts the source for it and is
# deleted once the branch holds its layers. Sets STORE_FROM_DB/STORE_FROM_USER (the source's names).
store::seed_branch() {
  local snapdir record implicit='' out
  if [[ -n "${FROM_SNAPSHOT}" ]]; then
    snapdir="${FROM_ROOT}/${FROM_ENV}/.snapshots/${FROM_SANDBOX}/${FROM_SNAPSHOT}"
    [[ -f "${snapdir}/snapshot.json" ]] || iact::die 1 "sandbox '${FROM_SANDBOX}' has no snapshot '${FROM_SNAPSHOT}' in ${FROM_ENV}" "take it first: iact snapshot ${FROM_SANDBOX} ${FROM_SNAPSHOT}" not-found
  else
    { [[ -f "${FROM_ROOT}/${FROM_ENV}/${FROM_SANDBOX}/.initialized" ]] && sb::read_meta "${FROM_ROOT}/${FROM_ENV}/${FROM_SANDBOX}"; } ||
      iact::die 1 "no sandbox '${FROM_SANDBOX}' in environment '${FROM_ENV}' to branch from" "create it first, or name a snapshot: from: ${FROM_SANDBOX}@SNAPSHOT" not-found
    # The source's own driver stops and starts it (it may not be this one).
    store::driver_script "${META_DRIVER}"
    implicit="for-${SB_NAME}-${SRANDOM}"
    if ! out="$(IACT_SANDBOX_ROOT="${FROM_ROOT}" IACT_DRIVER_ERRORS='' "${BASH}" "${SCRIPT_DIR}/${REPLY}" snapshot "${FROM_SANDBOX}" "${implicit}" --env "${FROM_ENV}" 2>&1 >/dev/null)"; then
      # shellcheck disable=SC2034 # read by iact::die
      IACT_ERROR_DETAIL="${out}"
      iact::die 1 "could not take a snapshot of '${FROM_SANDBOX}' to branch from" "see the detail; iact snapshot ${FROM_SANDBOX} shows the same error" io
    fi
    snapdir="${FROM_ROOT}/${FROM_ENV}/.snapshots/${FROM_SANDBOX}/${implicit}"
  fi
  record="$(jq -r '[.service, .database, .user] | join("\u001f")' "${snapdir}/snapshot.json")"
  # shellcheck disable=SC2034 # STORE_FROM_* are read by sb::cmd_create
  IFS=$'\x1f' read -r FROM_SERVICE STORE_FROM_DB STORE_FROM_USER <<<"${record}"
  [[ "${FROM_SERVICE}" == "${SB_SERVICE}" ]] || iact::die 2 "'${FROM_SANDBOX}' runs ${FROM_SERVICE}, not ${SB_SERVICE}" "branch a ${SB_SERVICE} sandbox, or set service: ${FROM_SERVICE}"
  if [[ -n "${implicit}" && -d "${snapdir}/data" ]]; then
    # A copy taken for this branch alone: it becomes the branch's data as it is.
    store::release_data
    mv -- "${snapdir}/data" "${SB_DIR}/data"
    STORE_USED=copy
  else
    store::snapshot_layers "${snapdir}"
    store::seed "${STORE_LOWERS[@]}"
  fi
  [[ -z "${implicit}" ]] || store::delete_snapshot "${snapdir}"
  sb::remove_existing "${SB_DIR}"/run/*.pid "${SB_DIR}/data/postmaster.pid"
}

# --- per-service mechanics of snapshots and branches (svc::<service>_<op>, called through svc::call) --

# A checkpoint before a clean stop makes the stop's own checkpoint short.
svc::postgres_checkpoint() { svc::psql_admin <<<'CHECKPOINT;' >/dev/null; }

# svc::<service>_adopt SRC_DB SRC_USER: a branch's data holds its source's database and user; they
# take the branch's names (an ALTER ... RENAME: no copy), before ensure_credentials sets the password.
svc::postgres_adopt() {
  IACT_SRC_DB="$1" IACT_SRC_USER="$2" svc::psql_admin <<SQL
SET log_statement = 'none';
\getenv sdb IACT_SRC_DB
\getenv susr IACT_SRC_USER
\getenv db IACT_DB
\getenv usr IACT_USER
SELECT format('ALTER DATABASE %I RENAME TO %I', :'sdb', :'db')
 WHERE :'sdb' <> :'db' AND EXISTS (SELECT 1 FROM pg_database WHERE datname = :'sdb')
   AND NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER ROLE %I RENAME TO %I', :'susr', :'usr')
 WHERE :'susr' <> :'usr' AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'susr')
   AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'usr') \gexec
SQL
}

# MariaDB cannot rename a database: the tables move (RENAME TABLE across databases is a rename of
# their files); views and routines stay in the source's database.
svc::mysql_adopt() {
  local sdb="$1" susr="$2" sql='' t h tables=() hosts=()
  if [[ -n "${susr}" && "${susr}" != "${SB_USER}" ]]; then
    mapfile -t hosts < <(svc::mysql_admin_query "SELECT Host FROM mysql.global_priv WHERE User = '${susr}'")
    for h in "${hosts[@]}"; do
      [[ -n "${h}" ]] && sql+="RENAME USER '${susr}'@'${h}' TO '${SB_USER}'@'${h}';"
    done
  fi
  if [[ -n "${sdb}" && "${sdb}" != "${SB_DB}" ]]; then
    mapfile -t tables < <(svc::mysql_admin_query "SELECT table_name FROM information_schema.tables WHERE table_schema = '${sdb}' AND table_type = 'BASE TABLE'")
    sql+="CREATE DATABASE IF NOT EXISTS \`${SB_DB}\`;"
    for t in "${tables[@]}"; do
      [[ -n "${t}" ]] && sql+="RENAME TABLE \`${sdb}\`.\`${t//\`/\`\`}\` TO \`${SB_DB}\`.\`${t//\`/\`\`}\`;"
    done
  fi
  [[ -z "${sql}" ]] || svc::mysql_admin -e "${sql}"
}
