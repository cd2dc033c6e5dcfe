#!/usr/bin/env bash
# How fast and how clean `connect dev` is, on a release build, side by side
# in one run with nodemon restarting the same 2015 Node add-on:
#
#  1. edit-to-ready: change the descriptor's description, then poll GET
#     /atlassian-connect.json (a fresh connection each time) until the new
#     text is served; TRIALS trials per server, round-robin, median and p90.
#       - connect serve through connect dev
#       - the 2015 Node add-on (tests/fixtures/node-addon) through connect dev
#       - the same Node add-on under nodemon
#  2. failed requests of a client polling continuously through RESTARTS
#     restarts of each.
#  3. what the proxy costs per request: GET /atlassian-connect.json at 16
#     connections straight to connect serve's private port, and through
#     connect dev's public port (needs wrk; python3 otherwise).
#  4. idle CPU and RSS of connect dev itself; after SIGINT, processes left
#     and the port's state.
#
#   bench/dev.sh                   # 40 trials, 20 restarts
#   TRIALS=100 RESTARTS=50 bench/dev.sh
#
# Needs python3, and for the Node rows node with the fixture's modules
# (./install.sh --test-deps) and nodemon (./install.sh --bench-deps puts it
# in bench/node_modules). Uses $CARGO_TARGET_DIR when set.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$(pwd)"
trials="${TRIALS:-40}"
restarts="${RESTARTS:-20}"
idle_secs="${IDLE_SECS:-10}"

echo "building connect (release)..." >&2
cargo build --release --quiet --bin connect
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/connect")"

work="$(mktemp -d)"
pids=()
cleanup() {
    # nodemon runs in a process group of its own (setsid): killing the group
    # takes the node it started too, which killing nodemon alone leaves behind.
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_line() { # file pattern
    for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    echo "no '$2' in $1:" >&2; cat "$1" >&2; return 1
}

# --- the servers --------------------------------------------------------------
cd "$work"
"$bin" new -y --no-git serve-addon >/dev/null
serve_port="$(free_port)"
(cd serve-addon && exec "$bin" dev --port "$serve_port" >"$work/serve.log" 2>&1 </dev/null) &
serve_dev=$!
pids+=("$serve_dev")
wait_line "$work/serve.log" 'started connect serve'

fixture="$repo/tests/fixtures/node-addon"
node_rows=0
nodemon="$repo/bench/node_modules/.bin/nodemon"
if command -v node >/dev/null && [ -d "$fixture/node_modules" ] && [ -x "$nodemon" ]; then
    node_rows=1
    for copy in node-dev node-nodemon; do
        mkdir "$copy"
        cp -r "$fixture/app.js" "$fixture/atlassian-connect.json" "$fixture/config.json" "$fixture/package.json" "$fixture/lib" "$fixture/routes" "$copy/"
        ln -s "$fixture/node_modules" "$copy/node_modules"
    done
    node_port="$(free_port)"
    (cd node-dev && SEARCH_HOST=http://127.0.0.1:9 exec "$bin" dev --port "$node_port" --exec 'node app.js' >"$work/node.log" 2>&1 </dev/null) &
    node_dev=$!
    pids+=("$node_dev")
    nodemon_port="$(free_port)"
    (cd node-nodemon && PORT="$nodemon_port" AC_LOCAL_BASE_URL="http://localhost:$nodemon_port" SEARCH_HOST=http://127.0.0.1:9 \
        exec setsid "$nodemon" --ext js,json app.js >"$work/nodemon.log" 2>&1 </dev/null) &
    pids+=($!)
    wait_line "$work/node.log" 'started node'
    wait_line "$work/nodemon.log" 'Add-on server running'
else
    echo "(no Node rows: needs node, the fixture's node_modules (install.sh --test-deps) and nodemon (install.sh --bench-deps))" >&2
fi

cat >"$work/devbench.py" <<'PY'
import json, os, socket, statistics, sys, threading, time

def get(port, path="/atlassian-connect.json"):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/"):
        raise ConnectionError(f"no HTTP reply: {data[:80]!r}")
    return int(head.split()[1]), body.decode(errors="replace")

def set_description(project, text):
    path = os.path.join(project, "atlassian-connect.json")
    with open(path) as f:
        doc = json.load(f)
    doc["description"] = text
    # A plain in-place save, like most editors without atomic writes.
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)

def wait_for(port, text, timeout=30):
    # A poll every millisecond: the resolution of the figures. Polling
    # flat out would make the old add-on (still serving while the new one
    # boots) compete for the CPU with the one booting.
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        try:
            status, body = get(port)
            if status == 200 and text in body:
                return True
        except OSError:
            pass
        time.sleep(0.001)
    return False

def trial(project, port, text):
    t0 = time.perf_counter()
    set_description(project, text)
    if not wait_for(port, text):
        raise SystemExit(f"{project}: the change never showed")
    return (time.perf_counter() - t0) * 1000

def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]

def through_restarts(project, port, restarts):
    """Polls continuously while the descriptor is edited `restarts` times."""
    stop = threading.Event()
    counts = {"ok": 0, "failed": 0}
    kinds = {}
    def poll():
        while not stop.is_set():
            try:
                status = get(port)[0]
                counts["ok" if status == 200 else "failed"] += 1
                if status != 200:
                    kinds[f"HTTP {status}"] = kinds.get(f"HTTP {status}", 0) + 1
            except OSError as e:
                counts["failed"] += 1
                kind = type(e).__name__
                kinds[kind] = kinds.get(kind, 0) + 1
                time.sleep(0.001)
    t = threading.Thread(target=poll)
    t.start()
    for i in range(restarts):
        trial(project, port, f"restart {i} {time.time_ns()}")
        time.sleep(1.2)
    stop.set()
    t.join()
    return counts["ok"], counts["failed"], kinds

def describe(kinds):
    return f" ({', '.join(f'{n} {k}' for k, n in kinds.items())})" if kinds else ""
PY

export PYTHONPATH="$work"
python3 - "$trials" "$restarts" "$serve_port" "${node_port:-0}" "${nodemon_port:-0}" <<'PY'
import os, statistics, sys, time
from devbench import trial, pct, through_restarts, describe, wait_for

trials, restarts = int(sys.argv[1]), int(sys.argv[2])
rows = [("connect serve via connect dev", "serve-addon", int(sys.argv[3]))]
if int(sys.argv[4]):
    rows += [("2015 Node add-on via connect dev", "node-dev", int(sys.argv[4])),
             ("2015 Node add-on via nodemon", "node-nodemon", int(sys.argv[5]))]
for _, project, port in rows:
    if not wait_for(port, "description"):
        raise SystemExit(f"{project} does not answer")
lat = {name: [] for name, _, _ in rows}
done_at = {name: 0.0 for name, _, _ in rows}
for i in range(trials):
    for name, project, port in rows:
        # A person's pace: connect dev takes edits that keep coming within a
        # second of each restart for the add-on's own (a restart loop).
        time.sleep(max(0.0, done_at[name] + 1.2 - time.perf_counter()))
        lat[name].append(trial(project, port, f"bench trial {i} {time.time_ns()}"))
        done_at[name] = time.perf_counter()
print()
la = os.getloadavg()
print(f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, {os.cpu_count()} cores; {trials} trials each, round-robin")
print(f"{'edit-to-ready, ms':34} {'median':>8} {'p90':>8} {'min':>8} {'max':>8}")
for name, v in lat.items():
    print(f"{name:34} {statistics.median(v):8.1f} {pct(v, 0.9):8.1f} {min(v):8.1f} {max(v):8.1f}")
print()
print(f"a client polling through {restarts} restarts:")
for name, project, port in rows:
    ok, failed, kinds = through_restarts(project, port, restarts)
    print(f"  {name:32} {ok:6} ok, {failed} failed{describe(kinds)}")
PY

# --- what the proxy costs ---------------------------------------------------------
cd "$repo"
# The generation serving now: the last pid connect dev named.
child="$(grep -o '(pid [0-9]*)' "$work/serve.log" | tail -1 | tr -dc 0-9)"
private="$(tr '\0' '\n' < "/proc/$child/environ" | sed -n 's/^PORT=//p')"
echo
if command -v wrk >/dev/null; then
    echo "GET /atlassian-connect.json, 16 connections, 2 wrk threads, 5 s each (3 runs each, alternating):"
    for run in 1 2 3; do
        for target in "direct:$private" "proxied:$serve_port"; do
            name="${target%%:*}"; port="${target##*:}"
            before="$(awk '{ print $14 + $15 }' "/proc/$serve_dev/stat")"
            out="$(wrk -t2 -c16 -d5s --latency "http://127.0.0.1:$port/atlassian-connect.json")"
            after="$(awk '{ print $14 + $15 }' "/proc/$serve_dev/stat")"
            total="$(awk '/requests in/ { print $1 }' <<<"$out")"
            printf '  %-8s run %d: %8s req/s, p50 %8s, p99 %8s, connect dev CPU %5.1f us/request\n' "$name" "$run" \
                "$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")" \
                "$(awk '$1 == "50%" { print $2 }' <<<"$out")" "$(awk '$1 == "99%" { print $2 }' <<<"$out")" \
                "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
        done
    done
else
    echo "(wrk is not installed: no proxy cost figures; ./install.sh --bench-deps)"
fi

# --- idle cost and clean exit -------------------------------------------------------
sleep 2
clk="$(getconf CLK_TCK)"
ticks() { awk '{ print $14 + $15 }' "/proc/$serve_dev/stat"; }
t0="$(ticks)"; sleep "$idle_secs"; t1="$(ticks)"
rss_kib="$(awk '/^VmRSS/ { print $2 }' "/proc/$serve_dev/status")"
awk -v d="$((t1 - t0))" -v c="$clk" -v s="$idle_secs" -v r="$rss_kib" 'BEGIN {
    printf "\nconnect dev idle over %d s: CPU %.2f%%, RSS %.1f MiB\n", s, d / c / s * 100, r / 1024 }'

kill -INT "$serve_dev"
wait "$serve_dev" && rc=0 || rc=$?
sleep 0.2
left=0
for p in /proc/[0-9]*; do
    pg="$(awk '{ print $5 }' "$p/stat" 2>/dev/null || true)"
    st="$(awk '{ print $3 }' "$p/stat" 2>/dev/null || true)"
    if [ "$pg" = "$child" ] && [ "$st" != Z ]; then left=$((left + 1)); fi
done
if python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()" "$serve_port" 2>/dev/null; then port_state=free; else port_state=TAKEN; fi
echo "after SIGINT to connect dev alone: exit status $rc, $left processes left in the add-on's group, port $serve_port $port_state"
echo "goals: connect serve edit-to-ready median < 20 ms; 0 failed requests through restarts"
