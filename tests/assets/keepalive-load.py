# Concurrent keep-alive load on one HTTP service, the way keystoneauth's
# urllib3 pool uses it: CLIENTS threads, each with a pool of one kept-alive
# connection, send REQUESTS requests each, alternating a request with a body
# in the answer (GET) and one without (HEAD). No retries: every connection
# reset or protocol error is counted. Prints one JSON line.
# Usage: python3 - URL CLIENTS REQUESTS < keepalive-load.py
import json, sys, threading, time
import urllib3

url, clients, requests = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lock = threading.Lock()
totals = {"requests": 0, "ok": 0, "resets": 0, "other_errors": 0, "errors": []}

def client():
    pool = urllib3.connection_from_url(url, maxsize=1, block=True, retries=False)
    counts = {"requests": 0, "ok": 0, "resets": 0, "other_errors": 0}
    errors = []
    for i in range(requests):
        method = "GET" if i % 2 == 0 else "HEAD"
        counts["requests"] += 1
        try:
            r = pool.request(method, url, retries=False, timeout=30)
            if r.status < 500:
                counts["ok"] += 1
            else:
                counts["other_errors"] += 1
                errors.append(f"{method}: HTTP {r.status}")
        except Exception as e:  # noqa: BLE001 - every failure is counted
            text = repr(e)
            if "104" in text or "reset" in text.lower() or "RemoteDisconnected" in text or "BadStatusLine" in text:
                counts["resets"] += 1
            else:
                counts["other_errors"] += 1
            errors.append(f"{method}: {text[:200]}")
    with lock:
        for k, v in counts.items():
            totals[k] += v
        totals["errors"].extend(errors[:5])

t0 = time.monotonic()
threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
totals["seconds"] = round(time.monotonic() - t0, 2)
totals["errors"] = totals["errors"][:10]
print(json.dumps(totals))
