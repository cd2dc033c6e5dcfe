#!/usr/bin/env bash
# How long `connect emulate` takes to do what a test or a person asks of it,
# on a release build, every target side by side (round-robin):
#
#  1. a chat round trip: POST /_emulator/rooms/{id}/messages "/hascode TERM",
#     then GET ...messages?after=ID&kind=notification&waitMs=5000 until the
#     add-on's answer is in the room; median and p90 over TRIALS, for
#       - connect serve (a project from `connect new`, its sample articles),
#         which answers inline,
#       - the 2015 Node add-on (tests/fixtures/node-addon), which answers
#         through the REST API (a token, then POST .../notification);
#  2. what the forwarding origin costs an add-on page: the UI fixture's
#     signed sidebar page (tests/fixtures/ui-addon) fetched straight from the
#     add-on and through http://<key>.localhost:<port>/ (the script swap,
#     the URL rewrite and the inspector's record included);
#  3. a glance as the page gets it (GET /_emulator/installs/{id}/glances:
#     the signed queryUrl asked and its answer validated).
#
#   bench/emulate.sh                # 200 trials
#   TRIALS=1000 bench/emulate.sh
#
# Needs python3 and curl, and for the Node rows node with the fixtures' modules
# (./install.sh --test-deps). Uses $CARGO_TARGET_DIR when set.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$(pwd)"
trials="${TRIALS:-200}"

echo "building connect (release)..." >&2
cargo build --release --quiet --bin connect
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/connect")"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_url() { # url log
    for _ in $(seq 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.05; done
    echo "no answer from $1:" >&2; cat "$2" >&2; return 1
}

cd "$work"
emulator_port="$(free_port)"
# No rate limits in the way of the Node add-on's REST calls.
"$bin" emulate --port "$emulator_port" --room Serve --room Node --room Pages \
    --requests-per-token 1000000 --messages-per-room 1000000 >"$work/emulator.log" 2>&1 </dev/null &
pids+=($!)
emulator="http://127.0.0.1:$emulator_port"
wait_url "$emulator/_emulator" "$work/emulator.log"

"$bin" new -y --no-git serve-addon >/dev/null
serve_port="$(free_port)"
(cd serve-addon && exec "$bin" serve --port "$serve_port" >"$work/serve.log" 2>&1 </dev/null) &
pids+=($!)
wait_url "http://localhost:$serve_port/atlassian-connect.json" "$work/serve.log"

node_rows=0
if command -v node >/dev/null && [ -d "$repo/tests/fixtures/node-addon/node_modules" ] \
    && [ -d "$repo/tests/fixtures/ui-addon/node_modules" ]; then
    node_rows=1
    # A blog answering byTag searches for the Node add-on.
    blog_port="$(free_port)"
    python3 - "$blog_port" >"$work/blog.log" 2>&1 <<'PY' &
import http.server, json, sys, urllib.parse
class Blog(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: without this, Nagle's
    # algorithm and the client's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True
    def do_GET(self):
        tag = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query).get("tag", ["x"])[0]
        body = json.dumps([{"title": f"{tag} article {i}", "url": f"https://blog.example/{tag}-{i}/"} for i in range(5)]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Blog).serve_forever()
PY
    pids+=($!)
    node_port="$(free_port)"
    (cd "$repo/tests/fixtures/node-addon" && PORT="$node_port" AC_LOCAL_BASE_URL="http://127.0.0.1:$node_port" \
        SEARCH_HOST="http://127.0.0.1:$blog_port" exec node app.js >"$work/node.log" 2>&1 </dev/null) &
    pids+=($!)
    ui_port="$(free_port)"
    (cd "$repo/tests/fixtures/ui-addon" && PORT="$ui_port" AC_LOCAL_BASE_URL="http://127.0.0.1:$ui_port" \
        NODE_ENV=development exec node app.js >"$work/ui.log" 2>&1 </dev/null) &
    pids+=($!)
    wait_url "http://127.0.0.1:$node_port/atlassian-connect.json" "$work/node.log"
    wait_url "http://127.0.0.1:$ui_port/atlassian-connect.json" "$work/ui.log"
else
    echo "(no Node rows: needs node and the fixtures' node_modules: ./install.sh --test-deps)" >&2
fi

python3 - "$emulator" "$serve_port" "$node_rows" "${node_port:-0}" "${ui_port:-0}" "$trials" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse

emulator, serve_port, node_rows, node_port, ui_port, trials = sys.argv[1:]
node_rows, trials = node_rows == "1", int(trials)
em = urllib.parse.urlparse(emulator)

def call(method, path, body=None, host=None, port=None, headers=None):
    conn = http.client.HTTPConnection(host or em.hostname, port or em.port, timeout=30)
    head = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        head["content-type"] = "application/json"
    conn.request(method, path, body=data, headers=head)
    answer = conn.getresponse()
    text = answer.read()
    conn.close()
    if answer.status >= 300:
        raise SystemExit(f"{method} {path}: HTTP {answer.status} {text[:300]!r}")
    return json.loads(text) if text and answer.getheader("content-type", "").startswith("application/json") else text

def install(descriptor, room):
    return call("POST", "/_emulator/install", {"descriptorUrl": descriptor, "roomId": room})["oauthId"]

rooms = {r["name"]: r["id"] for r in call("GET", "/_emulator/rooms")}
install(f"http://localhost:{serve_port}/atlassian-connect.json", rooms["Serve"])
targets = [("connect serve (inline reply)", rooms["Serve"])]
if node_rows:
    install(f"http://127.0.0.1:{node_port}/atlassian-connect.json", rooms["Node"])
    targets.append(("2015 Node add-on (REST notification)", rooms["Node"]))
    ui = install(f"http://127.0.0.1:{ui_port}/atlassian-connect.json", rooms["Pages"])

def round_trip(room, term):
    started = time.perf_counter()
    sent = call("POST", f"/_emulator/rooms/{room}/messages", {"message": f"/hascode {term}"})
    mid = sent["message"]["id"]
    answer = call("GET", f"/_emulator/rooms/{room}/messages?after={mid}&kind=notification&waitMs=5000")
    took = time.perf_counter() - started
    if not answer:
        delivery = sent["deliveries"][0] if sent["deliveries"] else None
        recent = [{k: e.get(k) for k in ("kind", "method", "url", "status", "error", "responseBody")}
                  for e in call("GET", "/_emulator/exchanges")[-4:]]
        raise SystemExit(f"room {room}: no answer to /hascode {term} within 5 s; the delivery: {json.dumps(delivery)}; "
                         f"the last exchanges: {json.dumps(recent)}")
    return took

def figures(samples):
    samples = sorted(samples)
    p90 = samples[max(0, int(len(samples) * 0.9) - 1)]
    return f"median {statistics.median(samples) * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms"

terms = ["rust", "tokio", "serde", "axum", "java", "python"]
times = {name: [] for name, _ in targets}
for _ in range(10):  # warm-up: tokens, caches, connections
    for name, room in targets:
        round_trip(room, "rust")
for i in range(trials):
    for name, room in targets:
        times[name].append(round_trip(room, terms[i % len(terms)]))
print(f"chat round trip, POST message until the answer is in the room ({trials} trials each, side by side):")
for name, _ in targets:
    print(f"  {name:40} {figures(times[name])}")

if node_rows:
    signed = call("POST", f"/_emulator/installs/{ui}/modules/fixture.sidebar/url", {"roomId": rooms["Pages"]})
    direct = urllib.parse.urlparse(signed["directUrl"])
    forwarded = urllib.parse.urlparse(signed["url"])
    def page(parsed):
        started = time.perf_counter()
        body = call("GET", parsed.path + "?" + parsed.query, host="127.0.0.1", port=parsed.port,
                    headers={"Host": parsed.netloc, "Accept": "text/html"})
        took = time.perf_counter() - started
        if b"api-status" not in body:
            raise SystemExit(f"not the sidebar page: {body[:200]!r}")
        return took
    pages = {"straight from the add-on": [], "through the forwarding origin": []}
    glances = []
    for _ in range(10):
        page(direct); page(forwarded)
    for _ in range(trials):
        pages["straight from the add-on"].append(page(direct))
        pages["through the forwarding origin"].append(page(forwarded))
        started = time.perf_counter()
        got = call("GET", f"/_emulator/installs/{ui}/glances?roomId={rooms['Pages']}")
        glances.append(time.perf_counter() - started)
        if got[0]["source"] != "query" or got[0]["error"]:
            raise SystemExit(f"the glance was not queried: {got}")
    print(f"the UI fixture's signed sidebar page ({trials} each, alternating):")
    for name, samples in pages.items():
        print(f"  {name:40} {figures(samples)}")
    cost = statistics.median(pages["through the forwarding origin"]) - statistics.median(pages["straight from the add-on"])
    print(f"  {'forwarding costs (medians)':40} {cost * 1000:+.2f} ms")
    print(f"a glance queried through the control API ({trials}):")
    print(f"  {'signed queryUrl, validated':40} {figures(glances)}")
PY
