#!/bin/bash
# Run one stage of the build and record how long it took.
#   stage.sh NAME COMMAND...   run COMMAND, log "NAME SECONDS STATUS"
#   stage.sh --summary         print the stages recorded so far
log=$(dirname "$0")/../build/stages.log
if [ "$1" = --summary ]; then
	[ -f "$log" ] || exit 0
	echo "stage times:"
	awk '{ printf "  %-10s %5d s%s\n", $1, $2, $3 ? "  (failed)" : "";
	       t += $2 } END { printf "  %-10s %5d s\n", "total", t }' "$log"
	exit 0
fi
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
secs=$(( $(date +%s) - start ))
mkdir -p "$(dirname "$log")"
echo "$name $secs $rc" >> "$log"
echo "[$name: ${secs} s$([ $rc = 0 ] || echo ", failed with status $rc")]"
exit $rc
