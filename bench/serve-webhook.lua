-- wrk script for bench/serve.sh: POST a signed room_message webhook.
-- The JWT and the body come from the environment (the script signs them).
-- wrk itself reports "Non-2xx or 3xx responses", which the script checks.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "JWT " .. os.getenv("BENCH_JWT")
