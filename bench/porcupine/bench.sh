#!/usr/bin/env bash
# Time the Porcupine driver and `conch check` on the same histories, in the
# same run, N times each (default 3), and print each run and the median by
# wall time. See README.md for building the driver and making the histories.
#
# usage: bench.sh [-n RUNS] [-t PORCUPINE_TIMEOUT] HISTORY.jsonl...
# env: CONCH (default: conch on PATH), CONCH_ARGS (more conch check flags,
#      e.g. --no-fast-paths), PORCUPINE_CHECK (default: ./porcupine-check),
#      TOOLS (default: "porcupine conch")
set -u
runs=3
ptimeout=60s
while getopts n:t: o; do
  case $o in
    n) runs=$OPTARG ;;
    t) ptimeout=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
conch=${CONCH:-conch}
porc=${PORCUPINE_CHECK:-./porcupine-check}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# $(date -u '+%F %T UTC'), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# conch flags: --checks linearizable ${CONCH_ARGS:-}; porcupine timeout $ptimeout"
echo "# tool | file | run | wall s | user s | sys s | peak RSS KB | exit | verdict"
for f in "$@"; do
  for tool in ${TOOLS:-porcupine conch}; do
    : >"$tmp/runs"
    for i in $(seq "$runs"); do
      if [ "$tool" = porcupine ]; then
        /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$porc" -timeout "$ptimeout" "$f" >"$tmp/out" 2>&1
        rc=$?
        verdict="$(sed -n 's/^verdict: //p' "$tmp/out"); $(sed -n 's/^time: //p' "$tmp/out")"
      else
        /usr/bin/time -o "$tmp/time" -f "%e %U %S %M" "$conch" check "$f" --checks linearizable ${CONCH_ARGS:-} >"$tmp/out" 2>&1
        rc=$?
        verdict="$(head -1 "$tmp/out" | sed 's/^.*: //'); $(sed -n 2p "$tmp/out" | grep -o 'checked in .*')"
      fi
      # /usr/bin/time puts "Command exited with non-zero status N" first
      read -r wall user sys rss < <(tail -n 1 "$tmp/time")
      echo "$tool | $f | $i | $wall | $user | $sys | $rss | $rc | $verdict" | tee -a "$tmp/runs"
    done
    median=$(sort -t'|' -k4,4n "$tmp/runs" | sed -n "$(((runs + 1) / 2))p")
    echo "MEDIAN $median"
  done
done
echo "# done $(date -u '+%T UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
