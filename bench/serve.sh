#!/usr/bin/env bash
# Throughput, latency and memory of `connect serve` answering signed
# room_message webhooks (JWT check, tenant lookup, blog search upstream,
# template rendering, inline reply), with nginx serving canned HipChat and
# blog answers so the upstreams are never the bottleneck.
#
#   bench/serve.sh                  # 5 runs of 10 s at 64 connections
#   RUNS=3 DURATION=5s bench/serve.sh
#   STORE=memory bench/serve.sh     # embedded (SQLite, default) | memory | redis
#   SERIES=cached bench/serve.sh    # both (default) | cached | unique
#
# Two series: one term repeated (as a busy room does; the server answers
# from its 30-second search cache) and a new term every request (every
# webhook searches the blog upstream). Prints each run and the medians:
# requests/s, p50 and p99 latency, the server's CPU time per request (a
# figure other processes on the machine do not distort), and its peak RSS
# (VmHWM) after each series. Goals on a 2-core machine: >= 10,800 req/s
# (20x the 2015 Node stack's ~540), p99 < 20 ms, < 20 MiB RSS.
# Needs nginx, wrk, curl, openssl (and redis-server for STORE=redis).
# Uses $CARGO_TARGET_DIR when set.
set -euo pipefail

cd "$(dirname "$0")/.."
repo="$(pwd)"
runs="${RUNS:-5}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"
store="${STORE:-embedded}"

for tool in nginx wrk curl openssl; do
    command -v "$tool" >/dev/null || { echo "bench/serve.sh needs $tool (see install.sh)" >&2; exit 1; }
done

echo "building connect (release)..." >&2
cargo build --release --quiet --bin connect
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/connect")"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    # Ask the kernel for a free port (bind to 0), then release it.
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0)->sockport' 2>/dev/null \
        || echo $(( 20000 + RANDOM % 20000 ))
}

wait_for() {
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}

# --- upstream doubles ---------------------------------------------------
up_port="$(free_port)"
mkdir -p "$work/nginx"
sed -e "s|@PORT@|$up_port|g" -e "s|@DIR@|$work/nginx|g" bench/serve-nginx.conf > "$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_for "http://127.0.0.1:$up_port/v2/capabilities"

case "$store" in
    embedded) store_json='{"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"}' ;;
    memory) store_json='{"adapter": "memory"}' ;;
    redis)
        command -v redis-server >/dev/null || { echo "STORE=redis needs redis-server" >&2; exit 1; }
        redis_port="$(free_port)"
        redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
        pids+=($!)
        sleep 0.5
        store_json="{\"adapter\": \"redis\", \"url\": \"redis://127.0.0.1:$redis_port/0\"}"
        ;;
    *) echo "STORE must be embedded, memory or redis" >&2; exit 1 ;;
esac

# --- the add-on project ---------------------------------------------------
port="$(free_port)"
project="$work/project"
mkdir -p "$project/templates"
cp templates/hipchat/templates/*.html "$project/templates/"
cat > "$project/config.json" <<JSON
{"production": {
  "localBaseUrl": "http://127.0.0.1:$port", "port": $port,
  "store": $store_json,
  "whitelist": ["127.0.0.1"], "maxTokenAge": 900,
  "searchHost": "http://127.0.0.1:$up_port", "searchBasePath": "/wp-content/byTag.php?tag=",
  "maxResultsDisplayed": 10}}
JSON
cat > "$project/atlassian-connect.json" <<'JSON'
{"key": "com.example.blogsearch", "name": "Blog Search", "description": "Searches the blog",
 "vendor": {"name": "Example", "url": "https://example.com"},
 "links": {"self": "{{localBaseUrl}}/atlassian-connect.json"},
 "capabilities": {
   "hipchatApiConsumer": {"scopes": ["send_notification"]},
   "installable": {"callbackUrl": "{{localBaseUrl}}/installable"},
   "webhook": [{"url": "{{localBaseUrl}}/message", "event": "room_message", "pattern": "^/hascode", "authentication": "jwt"}]}}
JSON

NODE_ENV=production "$bin" serve --dir "$project" > "$work/serve.out" 2> "$work/serve.log" &
serve_pid=$!
pids+=("$serve_pid")
wait_for "http://127.0.0.1:$port/healthz"

# --- install a tenant, sign a webhook --------------------------------------
oauth_id="bench-tenant"
secret="bench-secret-$(date +%s)"
status="$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/installable" \
    -H 'Content-Type: application/json' \
    -d "{\"oauthId\": \"$oauth_id\", \"capabilitiesUrl\": \"http://127.0.0.1:$up_port/v2/capabilities\", \"roomId\": 1, \"groupId\": 46617, \"oauthSecret\": \"$secret\"}")"
[ "$status" = 204 ] || { echo "install answered $status:" >&2; cat "$work/serve.log" >&2; exit 1; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now="$(date +%s)"
header="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
payload="$(printf '{"iss":"%s","sub":"2716065","iat":%s,"exp":%s,"context":{"room_id":1,"user_tz":"UTC"}}' "$oauth_id" "$now" $((now + 3600)) | b64url)"
signature="$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
export BENCH_JWT="$header.$payload.$signature"
export BENCH_BODY="{\"event\": \"room_message\", \"item\": {\"message\": {\"date\": \"2015-10-14T06:15:26.778258+00:00\", \"from\": {\"id\": 2716065, \"links\": {\"self\": \"https://api.hipchat.com/v2/user/2716065\"}, \"mention_name\": \"Bench\", \"name\": \"Bench\", \"version\": \"00000000\"}, \"id\": \"53e205e4-44c3-4eba-97c9-5032cc5b5f88\", \"mentions\": [], \"message\": \"/hascode @TERM@\", \"type\": \"message\"}, \"room\": {\"id\": 1, \"links\": {\"self\": \"https://api.hipchat.com/v2/room/1\"}, \"name\": \"Bench\", \"version\": \"O7WN272M\"}}, \"oauth_client_id\": \"$oauth_id\", \"webhook_id\": 2838389}"

check="$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:$port/message" -H 'Content-Type: application/json' -H "Authorization: JWT $BENCH_JWT" -d "${BENCH_BODY//@TERM@/rust}")"
[ "$(tail -n1 <<<"$check")" = 200 ] || { echo "a signed webhook was refused: $check" >&2; exit 1; }
grep -q 'Show all 12 results' <<<"$check" || { echo "unexpected reply: $check" >&2; exit 1; }

# --- load ------------------------------------------------------------------
to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$serve_pid/stat"; }
ticks_per_s="$(getconf CLK_TCK)"

# One series of runs; $1 labels it, $2 = 1 gives every request its own term.
series() {
    echo
    echo "$1"
    printf '%-6s %10s %9s %9s %14s\n' run 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req'
    : > "$work/rps"; : > "$work/p50"; : > "$work/p99"; : > "$work/cpu"
    for run in $(seq 1 "$runs"); do
        before="$(cpu_ticks)"
        out="$(BENCH_UNIQUE="$2" wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/serve-webhook.lua "http://127.0.0.1:$port/message")"
        after="$(cpu_ticks)"
        if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
            echo "errors during the run:" >&2; echo "$out" >&2; tail -5 "$work/serve.log" >&2; exit 1
        fi
        total="$(awk '/requests in/ { print $1 }' <<<"$out")"
        # The server's own CPU time per request: meaningful even when other
        # processes compete for the cores.
        cpu="$(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
        rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
        p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
        p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
        echo "$rps" >> "$work/rps"; echo "$p50" >> "$work/p50"; echo "$p99" >> "$work/p99"; echo "$cpu" >> "$work/cpu"
        printf '%-6s %10s %9s %9s %14s\n' "$run" "$rps" "$p50" "$p99" "$cpu"
    done
    printf '%-6s %10s %9s %9s %14s\n' median "$(median < "$work/rps")" "$(median < "$work/p50")" "$(median < "$work/p99")" "$(median < "$work/cpu")"
    # VmHWM is the goal's measure. Its file part is mostly the binary's
    # code, which some kernels map in large folios (shared and reclaimable);
    # RssAnon is the server's own memory.
    awk '/^(VmHWM|RssAnon|RssFile):/ { v[$1] = $2 / 1024 }
         END { printf "peak RSS so far (VmHWM): %.1f MiB; now %.1f MiB private (RssAnon) + %.1f MiB mapped files (RssFile)\n", v["VmHWM:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$serve_pid/status"
}

echo "connect serve (store: $store), $connections connections, $threads wrk threads, $duration x $runs runs per series"
[ "${SERIES:-both}" = unique ] || series "one term, as a busy room repeats it (answered from the 30 s search cache)" 0
[ "${SERIES:-both}" = cached ] || series "a new term every request (every webhook searches the blog upstream)" 1
echo
echo "goals: >= 10800 req/s, p99 < 20 ms, < 20 MiB RSS"
