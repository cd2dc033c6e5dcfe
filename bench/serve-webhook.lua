-- wrk script for bench/serve.sh: POST a signed room_message webhook.
-- The JWT and the body come from the environment (the script signs them;
-- HipChat's JWT does not cover the body, so the term may vary).
-- BENCH_UNIQUE=1 gives every request its own search term, so none is
-- answered from the server's 30-second search cache.
-- wrk itself reports "Non-2xx or 3xx responses", which the script checks.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "JWT " .. os.getenv("BENCH_JWT")
local template = os.getenv("BENCH_BODY")
wrk.body = string.gsub(template, "@TERM@", "rust")

if os.getenv("BENCH_UNIQUE") == "1" then
    local threads = 0
    function setup(thread)
        threads = threads + 1
        thread:set("tid", threads)
    end
    local counter = 0
    function request()
        counter = counter + 1
        local body = string.gsub(template, "@TERM@", "t" .. tid .. "x" .. counter)
        return wrk.format(nil, nil, nil, body)
    end
end
