# The fast half of `status` (sb::cmd_status). It reads the first line of every sandbox.json and prints
# the statuses of the driver's `none` sandboxes itself, but only from lines in the exact shape iact
# writes (identity fields first; strings without escapes; integers): such a line is valid JSON as it
# stands and becomes the status's spec unchanged. Anything else goes back to bash, which asks jq.
#
# Input (stdin): lines "dir NAME", "stopped NAME", "initialized NAME", then "file NAME" for each
# NAME/sandbox.json. Variables: env, driver, side (a file for the lines meant for bash).
# stdout: the none sandboxes' status objects joined by commas, straight into the script's output.
# side: one line per sandbox that needs more, then "items N" (how many went to stdout):
# "probe<TAB>NAME<TAB>SERVICE<TAB>PORT<TAB>"HASH"<TAB>SPEC" (a service to probe), "slow<TAB>NAME"
# (a sandbox.json for jq), "meta<TAB>NAME" (a directory without sandbox.json).

BEGIN {
  str = "\"[^\"\\\\[:cntrl:]]*\""
  scalar = "(" str "|-?[0-9]+|true|false|null)"
  field = "\"[a-z_]+\":(" scalar "|\\[(" str "(," str ")*)?\\])"
  settings = "\\{(" str ":" scalar "(," str ":" scalar ")*)?\\}"
  shape = "^\\{\"name\":" str ",\"environment\":" str ",\"driver\":\"[a-z]+\",\"service\":\"[a-z]+\",\"port\":[0-9]+,\"spec_hash\":" str "(," field ")*,\"settings\":" settings "\\}$"
  sep = ""
  items = 0
}

$2 == "" { next }
$1 == "dir" { dirs[$2] = 1; next }
$1 == "stopped" { stopped[$2] = 1; next }
$1 == "initialized" { initialized[$2] = 1; next }

$1 == "file" {
  name = $2
  file = name "/sandbox.json"
  # getline, not a file operand: a sandbox destroyed meanwhile is skipped (-1), not a fatal error.
  got = (getline line < file) > 0
  close(file)
  if (!got) next
  seen[name] = 1
  if (line !~ shape) { print "slow\t" name > side; next }
  split(line, f, "\"")
  if (f[4] != name) { print "slow\t" name > side; next }
  if (f[12] != driver) next
  # Its create never finished (killed, or the server refused its config): known by .meta, spec null,
  # so the plan repairs it with a create instead of starting a half-made sandbox forever.
  if (!(name in initialized)) { print "meta\t" name > side; next }
  port = substr(f[19], 2, length(f[19]) - 2)
  if (f[16] != "none") { print "probe\t" name "\t" f[16] "\t" port "\t\"" f[22] "\"\t" line > side; next }
  up = (name in stopped) ? "false" : "true"
  printf "%s{\"name\":\"%s\",\"environment\":\"%s\",\"driver\":\"%s\",\"service\":\"none\",\"port\":%s,\"running\":%s,\"healthy\":%s,\"pid\":null,\"spec_hash\":\"%s\",\"spec\":%s,\"data_bytes\":0}", sep, name, env, driver, port, up, up, f[22], line
  sep = ","
  items++
}

END {
  for (name in dirs) if (!(name in seen)) print "meta\t" name > side
  print "items " items > side
}
