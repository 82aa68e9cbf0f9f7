#!/bin/sh
# step.sh NAME COMMAND...: runs one suite of `make test` quietly. It prints
# one line when the suite ends (ok or FAIL, with its duration and a count
# of what ran), the suite's whole output only when it fails, and a progress
# line every 20 s while it runs.
name=$1
shift
log=$(mktemp "${TMPDIR:-/tmp}/segpickle-step.XXXXXX")
start=$(date +%s)
(
	while sleep 20; do
		done_pkgs=$(grep -cE '^(ok|FAIL|---) ' "$log" 2>/dev/null)
		printf '  … %s: %ss' "$name" "$(($(date +%s) - start))"
		case "$name" in
		"go test"*) printf ', %s packages done' "$done_pkgs" ;;
		python*) printf ', %s tests done' "$(head -n 1 "$log" | tr -cd '.sFEx' | wc -c)" ;;
		esac
		printf '\n'
	done
) &
beat=$!
"$@" >"$log" 2>&1
rc=$?
kill "$beat" 2>/dev/null
wait "$beat" 2>/dev/null
secs=$(($(date +%s) - start))
# What ran: Go packages, Python tests, fuzz executions.
what=""
n=$(grep -cE '^ok ' "$log")
[ "$n" -gt 0 ] && what="$n packages"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in.*/\1/p' "$log" | awk '{s += $1} END {if (s) print s}')
[ -n "$ran" ] && what="$ran tests$(grep -qE '^OK \(.*skipped' "$log" && sed -n 's/^OK (\(.*\))/, \1/p' "$log" | head -1)"
execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' "$log" | tail -1)
[ -n "$execs" ] && what="$execs executions"
[ -n "$what" ] && what=" ($what)"
if [ "$rc" -eq 0 ]; then
	printf 'ok    %-34s %4ss%s\n' "$name" "$secs" "$what"
	rm -f "$log"
	exit 0
fi
printf 'FAIL  %-34s %4ss — full output:\n' "$name" "$secs"
cat "$log"
printf 'FAIL  %s (exit %s; output above, also in %s)\n' "$name" "$rc" "$log"
exit "$rc"
