# Application credentials created concurrently by a member of one project and
# by the admin, the way Tempest's parallel workers create them. Keystone must
# give each request the roles of its own token: a member's create refused with
# "Could not find role assignment with role: <admin's role>" means a request
# saw another request's roles. Prints one JSON line; cleans up after itself.
# Usage: python3 appcred-race.py KEYSTONE_URL ROUNDS, the admin password on
# stdin. Under Debian's 32 uwsgi threads 42-57 of 120 member creates were
# refused so; with threads = 1, none (tests/e2e/tempest.rs).
import json, os, sys, threading, urllib.error, urllib.request

url, rounds = sys.argv[1].rstrip("/"), int(sys.argv[2])
admin_pw = sys.stdin.readline().rstrip("\n")


def call(method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, (json.loads(r.read() or b"null"))
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


def login(user, pw, project_id=None, project_name=None):
    scope = {"project": {"id": project_id}} if project_id else {"project": {"name": project_name, "domain": {"id": "default"}}}
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"id": "default"}, "password": pw}}}, "scope": scope}}
    status, headers, doc = call("POST", "/auth/tokens", body=body)
    assert status == 201, (status, doc)
    return headers["X-Subject-Token"], doc["token"]["user"]["id"]


admin, admin_id = login("admin", admin_pw, project_name="admin")
tag = "race-%d" % os.getpid()
_, _, p = call("POST", "/projects", admin, {"project": {"name": tag, "domain_id": "default"}})
project = p["project"]["id"]
member_pw = os.urandom(12).hex()
_, _, u = call("POST", "/users", admin, {"user": {"name": tag, "domain_id": "default", "password": member_pw}})
user = u["user"]["id"]
_, _, roles = call("GET", "/roles?name=member", admin)
call("PUT", "/projects/%s/users/%s/roles/%s" % (project, user, roles["roles"][0]["id"]), admin)
member, _ = login(tag, member_pw, project_id=project)

lock = threading.Lock()
counts = {"member_created": 0, "member_refused": 0, "admin_created": 0, "admin_refused": 0, "other": 0}
samples = []


def worker(who, token, uid):
    for i in range(rounds):
        status, _, doc = call("POST", "/users/%s/application_credentials" % uid, token,
                              {"application_credential": {"name": "%s-%s-%d-%d" % (tag, who, threading.get_ident(), i)}})
        with lock:
            if status == 201:
                counts[who + "_created"] += 1
            elif status == 400:
                counts[who + "_refused"] += 1
                if len(samples) < 5:
                    samples.append("%s: %s" % (who, doc["error"]["message"][:200]))
            else:
                counts["other"] += 1
        if status == 201:
            call("DELETE", "/users/%s/application_credentials/%s" % (uid, doc["application_credential"]["id"]), token)


threads = [threading.Thread(target=worker, args=("member", member, user)) for _ in range(3)]
threads += [threading.Thread(target=worker, args=("admin", admin, admin_id)) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
call("DELETE", "/users/" + user, admin)
call("DELETE", "/projects/" + project, admin)
counts["samples"] = samples
print(json.dumps(counts))
