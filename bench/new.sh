#!/usr/bin/env bash
# How long `connect new` takes: the median wall time of several runs of a
# release build, each creating a fresh project, side by side with the
# process start-up alone (`connect --version`) and a bare `git init`, which
# `connect new` runs. Goal: under 20 ms on the development machine.
#
#   bench/new.sh            # 30 runs of each
#   RUNS=100 bench/new.sh
#
# Needs hyperfine. Uses $CARGO_TARGET_DIR when set.
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${RUNS:-30}"
goal_ms=20

command -v hyperfine >/dev/null || { echo "bench/new.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

echo "building connect (release)..." >&2
cargo build --release --quiet --bin connect
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/connect")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
csv="$work/results.csv"
cd "$work"

# Each run creates `p` from scratch; the prepare step (not timed) removes
# the previous one. CI=1 keeps every run non-interactive even on a terminal.
export CI=1
hyperfine --shell=none --warmup 3 --runs "$runs" --prepare 'rm -rf p' \
    --export-csv "$csv" --style basic \
    -n 'connect --version (start-up only)' "$bin --version" \
    -n 'git init' 'git init -q p' \
    -n 'connect new --no-git' "$bin new -t hipchat p --no-git" \
    -n 'connect new (with git init)' "$bin new -t hipchat p" \
    >&2

echo
# Other work on the machine inflates medians; the minimum shows the cost
# when nothing else runs.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown), $(nproc) cores"
printf '%-36s %10s %10s %10s %10s\n' "command ($runs runs)" median_ms mean_ms min_ms max_ms
# CSV columns: command,mean,stddev,median,user,system,min,max (seconds).
tail -n +2 "$csv" | awk -F, -v goal="$goal_ms" '
    { printf "%-36s %10.2f %10.2f %10.2f %10.2f\n", $1, $4*1000, $2*1000, $7*1000, $8*1000 }
    $1 ~ /^connect new/ { verdict = verdict sprintf("%s: median %.2f ms, %s the %d ms goal\n", $1, $4*1000, ($4*1000 < goal ? "under" : "OVER"), goal) }
    END { printf "\n%s", verdict }'
