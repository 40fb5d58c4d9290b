#!/usr/bin/env bash
# Long fuzz runs of every parser that reads outside input (tests/fuzz.rs, the SSE decoder of
# runai-client, the gateway's token meter), round after round with fresh random seeds, until
# the time is up or a case fails.
#
#   bash bench/fuzz.sh --minutes 30 [--cases 2000] [--release]
#
# A failing case stops the run; proptest has then saved its seed as a regression case
# (tests/fuzz.proptest-regressions, or proptest-regressions/ in the crate's folder),
# replayed first by every later `cargo test`. Commit that file with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
cases=2000
profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --cases) cases="$2"; shift 2 ;;
    --release) profile=(--release); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Each target: the test binary, the filter naming its fuzz properties, and how many
# properties that filter selects (for the case count). The binaries run directly, so the run
# holds no cargo lock while it lasts.
echo "building the fuzz targets ${profile[*]:-(debug)}"
executable() { # cargo's "Executable" line for one target
  cargo test "${profile[@]}" --no-run "$@" 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -n 1
}
fuzz=$(executable --test fuzz)
client=$(executable -p runai-client --lib)
serve=$(executable -p runai-serve --lib)
targets=(
  "$fuzz||9"
  "$client|openai::sse::tests::any_bytes|1"
  "$serve|gateway::tokens::tests::any_stream|1"
)

deadline=$(( $(date +%s) + minutes * 60 ))
rounds=0
total=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while [ "$(date +%s)" -lt "$deadline" ]; do
  for target in "${targets[@]}"; do
    IFS='|' read -r binary filter properties <<< "$target"
    if ! PROPTEST_CASES=$cases "$binary" --quiet "$filter" > "$log" 2>&1; then
      cat "$log"
      echo "FAILED after $rounds rounds and $total cases: $binary $filter; the seed is in the proptest-regressions file named above"
      exit 1
    fi
    total=$(( total + cases * properties ))
  done
  rounds=$(( rounds + 1 ))
  echo "round $rounds: $total cases so far"
done
echo "clean: $rounds rounds, $total cases in $minutes minutes (PROPTEST_CASES=$cases per property)"
