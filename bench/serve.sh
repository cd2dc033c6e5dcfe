#!/usr/bin/env bash
# Throughput, latency and memory of `connect serve` answering signed
# room_message webhooks (JWT check, tenant lookup, blog search upstream,
# template rendering, inline reply), with nginx serving canned HipChat and
# blog answers so the upstreams are never the bottleneck.
#
#   bench/serve.sh                  # every target, 5 runs of 10 s at 64 connections
#   RUNS=3 DURATION=5s bench/serve.sh
#   TARGETS="embedded:byTag postgres:byTag" bench/serve.sh
#   SERIES=cached bench/serve.sh    # both (default) | cached | unique
#   BASELINE=/tmp/connect-old bench/serve.sh
#                                   # every target also as TARGET@base, run by
#                                   # that binary (an earlier build), side by side
#   TARGETS="embedded:byTag embedded:byTag@nometrics" bench/serve.sh
#                                   # the cost of metrics: the same with --no-metrics
#   TAKEOVER=200 (default)          # with a redis:byTag target: the first webhook of
#                                   # installations only the 2015 layout knows vs
#                                   # their second (bench/takeover.py); 0 skips it
#
# A target is STORE:SOURCE[@VARIANT]. Stores: embedded (SQLite), memory,
# redis, redis-tls, postgres, pgbouncer (the same PostgreSQL through PgBouncer
# in transaction mode, 4 server connections); variants: base (the BASELINE
# binary), nometrics (--no-metrics); sources: byTag (the seed's JSON), wordpress (the
# REST API: two upstream calls, the tag's id then cached), feed (RSS per
# tag), file (1,000 local articles). By default every store searches byTag
# and every source uses the embedded store.
#
# One `connect serve` per target runs from the start; the runs go
# round-robin (run 1 of every target, then run 2, ...) so a noisy moment on
# the machine falls on every target alike, and the comparison is side by side.
#
# Two series: one term repeated (as a busy room does; the server answers
# from its 30-second search cache) and a new term every request (every
# webhook searches the blog upstream). Prints each run and the medians:
# requests/s, p50 and p99 latency, the server's CPU time per request (a
# figure other processes on the machine do not distort), and its peak RSS
# (VmHWM) after each series. Goals on a 2-core machine: >= 10,800 req/s
# (20x the 2015 Node stack's ~540), p99 < 20 ms, < 20 MiB RSS; the durable
# shared stores (redis, redis-tls, postgres) within 15% of SQLite.
# Needs nginx, wrk, curl, openssl, perl, python3; redis-server for the redis
# stores, PostgreSQL (initdb, postgres) for postgres.
# Uses $CARGO_TARGET_DIR when set.
set -euo pipefail

cd "$(dirname "$0")/.."
runs="${RUNS:-5}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"
targets="${TARGETS:-embedded:byTag redis:byTag redis-tls:byTag postgres:byTag embedded:wordpress embedded:feed embedded:file}"
if [ -n "${BASELINE:-}" ]; then
    [ -x "$BASELINE" ] || { echo "BASELINE=$BASELINE is not an executable connect binary" >&2; exit 1; }
    targets="$(for t in $targets; do printf '%s %s@base ' "$t" "$t"; done)"
fi

for tool in nginx wrk curl openssl perl; do
    command -v "$tool" >/dev/null || { echo "bench/serve.sh needs $tool (see install.sh --bench-deps)" >&2; exit 1; }
done

echo "building connect (release)..." >&2
cargo build --release --quiet --bin connect
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/connect")"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen=>1,LocalAddr=>"127.0.0.1",LocalPort=>0)->sockport'
}

wait_for() {
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing answers at $1" >&2
    return 1
}

# PostgreSQL's server programs (Debian keeps them off the PATH).
pg_bin() {
    if command -v "$1" >/dev/null; then command -v "$1"; return; fi
    ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n1
}

# --- upstream doubles ---------------------------------------------------
up_port="$(free_port)"
mkdir -p "$work/nginx"
sed -e "s|@PORT@|$up_port|g" -e "s|@DIR@|$work/nginx|g" bench/serve-nginx.conf > "$work/nginx/nginx.conf"
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_for "http://127.0.0.1:$up_port/v2/capabilities"

# --- the stores -----------------------------------------------------------
# Starts what store $1 needs and sets store_json to its config.json setting.
# (Not run in a subshell, so the servers it starts land in $pids.)
start_store() {
    case "$1" in
        embedded) store_json='{"adapter": "jugglingdb", "type": "sqlite3", "database": "store.db"}' ;;
        memory) store_json='{"adapter": "memory"}' ;;
        redis)
            command -v redis-server >/dev/null || { echo "the redis store needs redis-server" >&2; exit 1; }
            local p; p="$(free_port)"
            redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
            pids+=($!)
            store_json="{\"adapter\": \"redis\", \"url\": \"redis://127.0.0.1:$p/0\"}"
            ;;
        redis-tls)
            # As Heroku Redis runs it: TLS with a self-signed certificate.
            command -v redis-server >/dev/null || { echo "the redis-tls store needs redis-server" >&2; exit 1; }
            local p; p="$(free_port)"
            openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$work/redis.key" -out "$work/redis.crt" 2>/dev/null
            redis-server --port 0 --tls-port "$p" --tls-cert-file "$work/redis.crt" --tls-key-file "$work/redis.key" \
                --tls-auth-clients no --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
            pids+=($!)
            store_json="{\"adapter\": \"redis\", \"url\": \"rediss://127.0.0.1:$p/0\", \"tls\": {\"rejectUnauthorized\": false}}"
            ;;
        pgbouncer)
            [ -n "${store_setting[postgres]:-}" ] || { start_store postgres; store_setting[postgres]="$store_json"; }
            local bouncer p pg_port
            bouncer="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
            [ -x "$bouncer" ] || { echo "the pgbouncer store needs pgbouncer (apt-get install pgbouncer)" >&2; exit 1; }
            p="$(free_port)"
            pg_port="$(sed -E 's|.*127\.0\.0\.1:([0-9]+)/.*|\1|' <<<"${store_setting[postgres]}")"
            mkdir -p "$work/pgb"
            cat > "$work/pgb/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$pg_port dbname=postgres user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $p
unix_socket_dir =
auth_type = trust
auth_file = $work/pgb/userlist.txt
pool_mode = transaction
default_pool_size = 4
max_client_conn = 500
logfile = $work/pgb/pgbouncer.log
pidfile = $work/pgb/pgbouncer.pid
INI
            echo '"postgres" ""' > "$work/pgb/userlist.txt"
            local run=()
            if [ "$(id -u)" = 0 ]; then chown -R postgres "$work/pgb"; run=(runuser -u postgres --); fi
            "${run[@]}" "$bouncer" "$work/pgb/pgbouncer.ini" >/dev/null 2>&1 &
            pids+=($!)
            sleep 0.5
            store_json="{\"adapter\": \"postgres\", \"url\": \"postgres://postgres@127.0.0.1:$p/postgres?sslmode=disable\"}"
            ;;
        postgres)
            local initdb postgres p run=()
            initdb="$(pg_bin initdb)"; postgres="$(pg_bin postgres)"
            [ -n "$initdb" ] && [ -n "$postgres" ] || { echo "the postgres store needs PostgreSQL (initdb, postgres)" >&2; exit 1; }
            p="$(free_port)"
            mkdir -p "$work/pg"
            # PostgreSQL refuses to run as root: run it as `postgres` then.
            if [ "$(id -u)" = 0 ]; then chown postgres "$work/pg"; run=(runuser -u postgres --); fi
            "${run[@]}" "$initdb" -D "$work/pg/data" -U postgres --auth=trust --no-sync >/dev/null
            "${run[@]}" "$postgres" -D "$work/pg/data" -p "$p" -k "$work/pg" -c listen_addresses=127.0.0.1 \
                > "$work/pg/log" 2>&1 &
            pids+=($!)
            for _ in $(seq 1 100); do
                grep -q "ready to accept connections" "$work/pg/log" 2>/dev/null && break
                sleep 0.1
            done
            store_json="{\"adapter\": \"postgres\", \"url\": \"postgres://postgres@127.0.0.1:$p/postgres?sslmode=disable\"}"
            ;;
        *) echo "unknown store '$1' (embedded, memory, redis, redis-tls, postgres, pgbouncer)" >&2; exit 1 ;;
    esac
}

# --- one add-on server per store --------------------------------------------
oauth_id="bench-tenant"
secret="bench-secret-$(date +%s)"
python3 - "$work/articles.json" <<'PY'
import json, random, sys
random.seed(7)
tags = ["rust", "java", "go", "docker", "kubernetes", "python", "testing", "spring-boot", "git", "linux"]
arts = [{"title": f"Article {i}", "url": f"https://www.hascode.com/a/{i}/", "tags": random.sample(tags, 2)} for i in range(1000)]
json.dump(arts, open(sys.argv[1], "w"))
PY
search_json() {
    case "$1" in
        byTag) echo "{\"source\": \"byTag\", \"url\": \"http://127.0.0.1:$up_port/wp-content/byTag.php?tag={tag}\", \"tagUrl\": \"https://www.hascode.com/tag/{tag}/\"}" ;;
        wordpress) echo "{\"source\": \"wordpress\", \"url\": \"http://127.0.0.1:$up_port\"}" ;;
        feed) echo "{\"source\": \"feed\", \"url\": \"http://127.0.0.1:$up_port/tag/{tag}/feed/\"}" ;;
        file) echo "{\"source\": \"file\", \"path\": \"$work/articles.json\", \"tagUrl\": \"https://www.hascode.com/tag/{tag}/\"}" ;;
        *) echo "unknown source '$1' (byTag, wordpress, feed, file)" >&2; exit 1 ;;
    esac
}

declare -A port serve_pid store_setting
# Every store first, then every server: a server started while a store
# (PostgreSQL) was still starting ran 20% slower for the whole run here.
for target in $targets; do
    store="${target%%:*}"
    if [ -n "${store_setting[$store]:-}" ]; then continue; fi
    start_store "$store"
    store_setting[$store]="$store_json"
done
sleep 1
for target in $targets; do
    spec="${target%@*}"
    variant=""; [ "$spec" = "$target" ] || variant="${target##*@}"
    store="${spec%%:*}"; source="${spec##*:}"
    [ "$store" != "$spec" ] || { echo "a target is STORE:SOURCE[@VARIANT], got '$target'" >&2; exit 1; }
    target_bin="$bin"; extra=()
    case "$variant" in
        "") ;;
        base) target_bin="$BASELINE" ;;
        nometrics) extra=(--no-metrics) ;;
        *) echo "unknown variant '@$variant' (base, nometrics)" >&2; exit 1 ;;
    esac
    name="${store}-${source}${variant:+-$variant}"
    store_json="${store_setting[$store]}"
    port[$target]="$(free_port)"
    project="$work/project-$name"
    mkdir -p "$project/templates"
    cp templates/hipchat/templates/*.html "$project/templates/"
    cat > "$project/config.json" <<JSON
{"production": {
  "localBaseUrl": "http://127.0.0.1:${port[$target]}", "port": ${port[$target]},
  "store": $store_json,
  "whitelist": ["127.0.0.1"], "maxTokenAge": 900,
  "search": $(search_json "$source"),
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
    log="$work/serve-$name.log"
    NODE_ENV=production "$target_bin" serve --dir "$project" "${extra[@]}" > "$log.out" 2> "$log" &
    serve_pid[$target]=$!
    pids+=($!)
    wait_for "http://127.0.0.1:${port[$target]}/atlassian-connect.json"
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:${port[$target]}/healthz" 2>/dev/null && break
        sleep 0.1
    done
    status="$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${port[$target]}/installable" \
        -H 'Content-Type: application/json' \
        -d "{\"oauthId\": \"$oauth_id\", \"capabilitiesUrl\": \"http://127.0.0.1:$up_port/v2/capabilities\", \"roomId\": 1, \"groupId\": 46617, \"oauthSecret\": \"$secret\"}")"
    [ "$status" = 204 ] || { echo "install ($target) answered $status:" >&2; cat "$log" >&2; exit 1; }
done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now="$(date +%s)"
header="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
payload="$(printf '{"iss":"%s","sub":"2716065","iat":%s,"exp":%s,"context":{"room_id":1,"user_tz":"UTC"}}' "$oauth_id" "$now" $((now + 3600)) | b64url)"
signature="$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
export BENCH_JWT="$header.$payload.$signature"
export BENCH_BODY="{\"event\": \"room_message\", \"item\": {\"message\": {\"date\": \"2015-10-14T06:15:26.778258+00:00\", \"from\": {\"id\": 2716065, \"links\": {\"self\": \"https://api.hipchat.com/v2/user/2716065\"}, \"mention_name\": \"Bench\", \"name\": \"Bench\", \"version\": \"00000000\"}, \"id\": \"53e205e4-44c3-4eba-97c9-5032cc5b5f88\", \"mentions\": [], \"message\": \"/hascode @TERM@\", \"type\": \"message\"}, \"room\": {\"id\": 1, \"links\": {\"self\": \"https://api.hipchat.com/v2/room/1\"}, \"name\": \"Bench\", \"version\": \"O7WN272M\"}}, \"oauth_client_id\": \"$oauth_id\", \"webhook_id\": 2838389}"

for target in $targets; do
    check="$(curl -sS -w '\n%{http_code}' -X POST "http://127.0.0.1:${port[$target]}/message" -H 'Content-Type: application/json' -H "Authorization: JWT $BENCH_JWT" -d "${BENCH_BODY//@TERM@/rust}")"
    [ "$(tail -n1 <<<"$check")" = 200 ] || { echo "a signed webhook was refused ($target): $check" >&2; exit 1; }
    grep -q 'Show all [0-9]* results' <<<"$check" || { echo "unexpected reply ($target): $check" >&2; exit 1; }
done

# --- load ------------------------------------------------------------------
to_ms() { # wrk latency like 1.23ms / 456.00us / 1.02s -> milliseconds
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_s="$(getconf CLK_TCK)"
hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# One series: $1 labels it, $2 = 1 gives every request its own term.
series() {
    echo
    echo "$1"
    printf '%-20s %-6s %10s %9s %9s %12s\n' target run 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req'
    for target in $targets; do : > "$work/$target.rps"; : > "$work/$target.p50"; : > "$work/$target.p99"; : > "$work/$target.cpu"; done
    for run in $(seq 1 "$runs"); do
        for target in $targets; do
            local pid="${serve_pid[$target]}" before after out total cpu rps p50 p99
            before="$(cpu_ticks "$pid")"
            out="$(BENCH_UNIQUE="$2" wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/serve-webhook.lua "http://127.0.0.1:${port[$target]}/message")"
            after="$(cpu_ticks "$pid")"
            if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then
                echo "errors during the run ($target):" >&2; echo "$out" >&2; tail -5 "$work"/serve-*.log >&2; exit 1
            fi
            total="$(awk '/requests in/ { print $1 }' <<<"$out")"
            cpu="$(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$total" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
            rps="$(awk '/^Requests\/sec/ { printf "%d", $2 }' <<<"$out")"
            p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")"
            p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")"
            echo "$rps" >> "$work/$target.rps"; echo "$p50" >> "$work/$target.p50"; echo "$p99" >> "$work/$target.p99"; echo "$cpu" >> "$work/$target.cpu"
            printf '%-20s %-6s %10s %9s %9s %12s\n' "$target" "$run" "$rps" "$p50" "$p99" "$cpu"
        done
    done
    echo "medians:"
    printf '%-20s %10s %9s %9s %12s %16s %9s\n' target 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req' 'peak RSS MiB' 'vs first'
    local first=""
    for target in $targets; do
        local rps; rps="$(median < "$work/$target.rps")"
        [ -n "$first" ] || first="$rps"
        printf '%-20s %10s %9s %9s %12s %16s %8s%%\n' "$target" "$rps" "$(median < "$work/$target.p50")" \
            "$(median < "$work/$target.p99")" "$(median < "$work/$target.cpu")" "$(hwm "${serve_pid[$target]}")" \
            "$(awk -v a="$rps" -v b="$first" 'BEGIN { printf "%+.0f", (a / b - 1) * 100 }')"
    done
}

echo "connect serve, targets: $targets; $connections connections, $threads wrk threads, $duration x $runs runs per series"
[ "${SERIES:-both}" = unique ] || series "one term, as a busy room repeats it (answered from the 30 s search cache)" 0
[ "${SERIES:-both}" = cached ] || series "a new term every request (every webhook searches the blog upstream)" 1
# The takeover of a 2015 deployment: the first webhook of an installation
# only the old stack's Redis layout knows, against its second.
takeover_target=""
for target in $targets; do [ "$target" = redis:byTag ] && takeover_target="$target"; done
if [ -n "$takeover_target" ] && [ "${TAKEOVER:-200}" != 0 ]; then
    redis_port="$(sed -E 's|.*127\.0\.0\.1:([0-9]+)/.*|\1|' <<<"${store_setting[redis]}")"
    echo
    echo "takeover of ${TAKEOVER:-200} installations from the 2015 Redis layout ($takeover_target), one webhook at a time:"
    python3 bench/takeover.py "$redis_port" "http://127.0.0.1:${port[$takeover_target]}" \
        "http://127.0.0.1:$up_port/v2/capabilities" "${TAKEOVER:-200}"
fi

echo
echo "goals: >= 10800 req/s, p99 < 20 ms, < 20 MiB RSS; redis, redis-tls and postgres within 15% of embedded:byTag"
