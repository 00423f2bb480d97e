# The fast half of `status` (sb::cmd_status). It reads the first line of every sandbox.json and prints
# the statuses of the driver's `none` sandboxes itself, but only from lines in the exact shape iact
# writes (identity fields first; strings without escapes; integers): such a line is valid JSON as it
# stands and becomes the status's spec unchanged. Anything else goes back to bash, which asks jq.
#
# Input: first stdin ("-"), lines "dir NAME", "stopped NAME", "initialized NAME"; then the files
# NAME/sandbox.json. Variables: env, driver.
# Output: line 1, the none sandboxes' status objects joined by commas; then one line per sandbox that
# needs more: "probe<TAB>NAME<TAB>SERVICE<TAB>PORT<TAB>"HASH"<TAB>SPEC" (a service to probe),
# "slow<TAB>NAME" (a sandbox.json for jq), "meta<TAB>NAME" (a directory without sandbox.json).

BEGIN {
  str = "\"[^\"\\\\[:cntrl:]]*\""
  scalar = "(" str "|-?[0-9]+|true|false|null)"
  field = "\"[a-z_]+\":(" scalar "|\\[(" str "(," str ")*)?\\])"
  settings = "\\{(" str ":" scalar "(," str ":" scalar ")*)?\\}"
  shape = "^\\{\"name\":" str ",\"environment\":" str ",\"driver\":\"[a-z]+\",\"service\":\"[a-z]+\",\"port\":[0-9]+,\"spec_hash\":" str "(," field ")*,\"settings\":" settings "\\}$"
  sep = ""
  rest = ""
}

FILENAME == "-" {
  if ($2 == "") next
  if ($1 == "dir") dirs[$2] = 1
  else if ($1 == "stopped") stopped[$2] = 1
  else if ($1 == "initialized") initialized[$2] = 1
  next
}

FNR == 1 {
  name = substr(FILENAME, 1, length(FILENAME) - length("/sandbox.json"))
  seen[name] = 1
  if ($0 !~ shape) { rest = rest "slow\t" name "\n"; next }
  split($0, f, "\"")
  if (f[4] != name) { rest = rest "slow\t" name "\n"; next }
  if (f[12] != driver) next
  port = substr(f[19], 2, length(f[19]) - 2)
  if (f[16] != "none") { rest = rest "probe\t" name "\t" f[16] "\t" port "\t\"" f[22] "\"\t" $0 "\n"; next }
  up = (name in initialized) && !(name in stopped) ? "true" : "false"
  printf "%s{\"name\":\"%s\",\"environment\":\"%s\",\"driver\":\"%s\",\"service\":\"none\",\"port\":%s,\"running\":%s,\"healthy\":%s,\"pid\":null,\"spec_hash\":\"%s\",\"spec\":%s,\"data_bytes\":0}", sep, name, env, driver, port, up, up, f[22], $0
  sep = ","
}

END {
  for (name in dirs) if (!(name in seen)) rest = rest "meta\t" name "\n"
  printf "\n%s", rest
}
