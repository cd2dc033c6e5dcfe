#!/usr/bin/env python3
"""The first webhook of an installation only the 2015 stack's layout knows,
against the steady state, side by side (bench/serve.sh runs it).

Writes N `<oauthId>:clientInfo` records into Redis as the Node add-on's
Redis adapter did, then, for each installation in turn, times its first
signed webhook (found in the old layout, JWT checked, credentials proven
with the token endpoint, converted) and its second one (connect's own
record, from the tenant cache or the store). Prints the medians and p90s.

usage: takeover.py REDIS_PORT SERVE_URL CAPABILITIES_URL N
"""
import base64
import hashlib
import hmac
import http.client
import json
import socket
import statistics
import sys
import time
import uuid
from urllib.parse import urlparse


def resp(*parts):
    out = b"*%d\r\n" % len(parts)
    for p in parts:
        p = p.encode() if isinstance(p, str) else p
        out += b"$%d\r\n%s\r\n" % (len(p), p)
    return out


def redis_set_many(port, pairs):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"".join(resp("SET", k, v) for k, v in pairs))
    want, got = len(pairs), b""
    while got.count(b"\r\n") < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    if got.count(b"+OK") != want:
        sys.exit("redis refused some records: %r" % got[:200])


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(iss, secret):
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"iss": iss, "sub": "1", "iat": now, "exp": now + 3600,
                             "context": {"room_id": 1, "user_tz": "UTC"}}).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (header, claims)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (header, claims, b64(sig))


def body(oauth_id):
    return json.dumps({
        "event": "room_message",
        "item": {"message": {"date": "2015-10-14T06:15:26.778258+00:00", "from": {"id": 1, "name": "Bench"},
                             "id": str(uuid.uuid4()), "mentions": [], "message": "/hascode rust", "type": "message"},
                 "room": {"id": 1, "name": "Bench"}},
        "oauth_client_id": oauth_id, "webhook_id": 1})


def main():
    redis_port, serve_url, capabilities_url, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    caps = json.loads(urllib_get(capabilities_url))
    run = uuid.uuid4().hex[:8]
    tenants = [("legacy-%s-%d" % (run, i), "secret-%s-%d" % (run, i)) for i in range(n)]
    redis_set_many(redis_port, [
        ("%s:clientInfo" % oid, json.dumps({"clientKey": oid, "oauthSecret": secret, "capabilitiesUrl": capabilities_url,
                                              "capabilitiesDoc": caps, "roomId": 1, "groupId": 46617, "groupName": "Bench"},
                                             indent=2))
        for oid, secret in tenants])
    target = urlparse(serve_url)
    conn = http.client.HTTPConnection(target.hostname, target.port)
    first, second = [], []
    for oid, secret in tenants:
        for times in (first, second):
            token = jwt(oid, secret)
            started = time.perf_counter()
            conn.request("POST", "/message", body(oid), {"Content-Type": "application/json", "Authorization": "JWT " + token})
            answer = conn.getresponse()
            answer.read()
            times.append((time.perf_counter() - started) * 1000)
            if answer.status != 200:
                sys.exit("webhook for %s answered %d" % (oid, answer.status))
    for label, times in (("first webhook (taken over)", first), ("second webhook (steady)", second)):
        times.sort()
        print("%-28s median %6.2f ms   p90 %6.2f ms   (%d)" % (
            label, statistics.median(times), times[int(len(times) * 0.9) - 1], len(times)))


def urllib_get(url):
    u = urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port)
    c.request("GET", u.path)
    return c.getresponse().read()


if __name__ == "__main__":
    main()
