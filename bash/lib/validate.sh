#!/usr/bin/env bash
# One validation of a sandbox spec's fields for every driver, with the rules of
# schemas/manifest.schema.json (the manifest's fields reach the drivers unchanged). Sourced by common.sh.

[[ -n "${IACT_VALIDATE_SH:-}" ]] && return 0
IACT_VALIDATE_SH=1

# The schema's patterns, as bash regexes.
readonly IACT_IDENT_RE='^[A-Za-z_][A-Za-z0-9_]{0,62}$'
readonly IACT_VERSION_RE='^[0-9][0-9A-Za-z.-]{0,31}$'
readonly IACT_MEMORY_RE='^[1-9][0-9]{0,8}[KMG]?$'
readonly IACT_IMAGE_RE='^[a-z0-9][a-z0-9._/-]{0,200}(:[A-Za-z0-9._-]{1,128})?(@sha256:[a-f0-9]{64})?$'
readonly IACT_SETTING_KEY_RE='^[a-z][a-z0-9_.-]{0,62}$'
# A setting value holds no line break, NUL, quote or backslash: nothing that could end its line or
# its quoting in a config file.
readonly IACT_SETTING_VALUE_BAD=$'[\r\n\'"\\\\]'

# REPLY = MEMORY (the schema's 512M / 1G / 64K / 1048576) in bytes.
iact::memory_bytes() {
  local size="$1" num
  num="${size%[KMG]}"
  case "${size#"${num}"}" in
    K) REPLY=$((num * 1024)) ;;
    M) REPLY=$((num * 1024 * 1024)) ;;
    G) REPLY=$((num * 1024 * 1024 * 1024)) ;;
    *) REPLY="${num}" ;;
  esac
}

# iact::setting_problem SERVICE KEY VALUE: false when the setting is invalid, with REPLY = what is
# wrong and IACT_PROBLEM_FIX = the fix (create-many reports it without exiting).
iact::setting_problem() {
  local service="$1" key="$2" value="$3"
  REPLY='' IACT_PROBLEM_FIX=''
  if [[ ! "${key}" =~ ${IACT_SETTING_KEY_RE} ]]; then
    REPLY="invalid setting name '${key}'" IACT_PROBLEM_FIX="use lowercase letters, digits, '_', '.' and '-', starting with a letter"
  elif [[ "${value}" =~ ${IACT_SETTING_VALUE_BAD} ]]; then
    REPLY="setting '${key}' has a value with quotes, backslashes or line breaks" IACT_PROBLEM_FIX="use a plain value"
  elif [[ " ${IACT_CAT_RESERVED[${service}]:-} " == *" ${key//-/_} "* ]]; then
    REPLY="setting '${key}' is managed by iact" IACT_PROBLEM_FIX="remove it; use the sandbox's port/password fields instead"
  elif [[ "${IACT_CAT_SETTINGS[${service}]:-}" != '*' && " ${IACT_CAT_SETTINGS[${service}]:-} " != *" ${key//-/_} "* ]]; then
    # An allow-list (src/catalog/): include directives, option prefixes, loose- forms, ACL lines and
    # listen addresses are refused by being absent (docs/manifest.md "Settings").
    REPLY="setting '${key}' is not one a ${service} sandbox may set" IACT_PROBLEM_FIX="use one of: ${IACT_CAT_SETTINGS[${service}]:-}"
  fi
  [[ -z "${REPLY}" ]]
}

# iact::password_problem PASSWORD: false when the password breaks the one rule of src/secrets/
# (passwordProblem): no control character, no single quote together with $, `, \ or ".
iact::password_problem() {
  local pw="$1"
  REPLY='' IACT_PROBLEM_FIX=''
  if [[ "${pw}" == *[[:cntrl:]]* ]]; then
    REPLY="contains a control character (a line break, tab or NUL)" IACT_PROBLEM_FIX="use a password without control characters"
  elif [[ "${pw}" == *\'* && "${pw}" == *[\$\`\\\"]* ]]; then
    REPLY="contains a single quote together with \$, \`, \\ or \"" IACT_PROBLEM_FIX="drop the single quote, or the other character"
  fi
  [[ -z "${REPLY}" ]]
}

# iact::validate_spec FIELDS KEYS VALUES: exit 2 (usage) unless the spec is valid. FIELDS names an
# associative array with name, environment, service, port and, when the spec has them, database,
# user, version, memory, image, password; KEYS and VALUES name the arrays of its settings.
iact::validate_spec() {
  local -n vs_fields="$1" vs_keys="$2" vs_values="$3"
  local i service="${vs_fields[service]:-}" v
  iact::validate_name "${vs_fields[name]:-}"
  iact::validate_environment "${vs_fields[environment]:-}"
  iact::validate_service "${service}"
  iact::validate_port "${vs_fields[port]:-}"
  if [[ "${IACT_CAT_HAS_DATABASE[${service}]}" == 1 ]]; then
    v="${vs_fields[database]:-}"
    [[ "${v}" =~ ${IACT_IDENT_RE} ]] || iact::usage_error "invalid database name '${v}'" "use letters, digits and '_' (at most 63), starting with a letter or '_'"
    v="${vs_fields[user]:-}"
    [[ "${v}" =~ ${IACT_IDENT_RE} ]] || iact::usage_error "invalid user name '${v}'" "use letters, digits and '_' (at most 63), starting with a letter or '_'"
    [[ " ${IACT_CAT_ADMIN_USERS[${service}]} " != *" ${v} "* ]] || iact::usage_error "user '${v}' is the server's administrator" "choose another user name"
  fi
  v="${vs_fields[version]:-}"
  [[ -z "${v}" || "${v}" =~ ${IACT_VERSION_RE} ]] || iact::usage_error "invalid version '${v}'" "start with a digit, then letters, digits, '.' and '-', e.g. \"15\""
  v="${vs_fields[memory]:-}"
  [[ -z "${v}" || "${v}" =~ ${IACT_MEMORY_RE} ]] || iact::usage_error "invalid memory '${v}'" "use a size like 512M or 1G (digits, then K, M or G)"
  v="${vs_fields[image]:-}"
  [[ -z "${v}" || "${v}" =~ ${IACT_IMAGE_RE} ]] || iact::usage_error "invalid image '${v}'" "use a reference like iact/postgres:15"
  iact::password_problem "${vs_fields[password]:-}" || iact::usage_error "the password ${REPLY}" "${IACT_PROBLEM_FIX}"
  for i in "${!vs_keys[@]}"; do
    iact::setting_problem "${service}" "${vs_keys[i]}" "${vs_values[i]}" || iact::usage_error "${REPLY}" "${IACT_PROBLEM_FIX}"
  done
  return 0
}
