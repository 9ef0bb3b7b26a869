"""5. Isolation: for every operation of the OpenAPI document, user B cannot read or change user
A's resources (todos by id, jobs by id, feeds): another user's todo or job is 404, exactly as
if it did not exist, and A's data is unchanged afterwards. Every operation that needs a key
answers 401 with a JSON {"error": ...} body (and WWW-Authenticate) to a missing, wrong or
malformed key, across all its methods.

The test fails when the document has an operation it does not cover, so a new route must be
added here.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from conftest import budget
from harness import auth, fail_if, feed_path, full_jobs

# operationId -> (method, path template) is read from the served document; these are the
# operations this test knows how to probe.
PUBLIC = {"getHealth", "getReadiness", "getOpenAPIDocument", "getCalendarFeed", "headCalendarFeed"}
COVERED = PUBLIC | {"createUser", "getMe", "updateMe", "listTodos", "createTodo", "completeTodos",
                    "getTodo", "updateTodo", "deleteTodo", "getFeed", "rotateFeed", "startIcalJob",
                    "getIcalJobStatus", "getIcalJobResult"}

BODIES = {
    "createUser": {"name": "mallory"},
    "updateMe": {"time_zone": "Asia/Tokyo"},
    "createTodo": {"title": "written without a key"},
    "completeTodos": {"ids": [1]},
    "updateTodo": {"title": "changed without a key"},
}


def operations(server) -> dict[str, tuple[str, str, list]]:
    doc = yaml.safe_load(requests.get(server.base + "/api/v1/openapi.yaml", timeout=10).text)
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                security = op.get("security", doc.get("security", []))
                ops[op["operationId"]] = (method.upper(), path, security)
    return ops


def is_json_error(r: requests.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return (r.headers.get("Content-Type", "").startswith("application/json") and isinstance(body, dict)
            and isinstance(body.get("error"), str) and bool(body["error"]))


@pytest.mark.timeout(budget(90, 300))
def test_isolation_between_users_and_401_without_key(server, figures):
    base = server.base
    ops = operations(server)
    problems: list[str] = []
    uncovered = sorted(set(ops) - COVERED)
    if uncovered:
        problems.append(f"operations of the OpenAPI document this test does not cover: {uncovered}")

    a_key, b_key = server.create_user("alice"), server.create_user("bob")
    a_titles = [f"alice secret {i}" for i in range(1, 6)]
    for t in a_titles:
        requests.post(base + "/api/v1/todos", headers=auth(a_key), json={"title": t, "deadline_at": "2031-02-03"},
                      timeout=10).raise_for_status()
    b_todo = requests.post(base + "/api/v1/todos", headers=auth(b_key), json={"title": "bob own", "deadline_at": "2031-02-04"},
                           timeout=10).json()
    a_job = requests.post(base + "/api/v1/todos/ical?mode=full", headers=auth(a_key), timeout=10).json()["task_id"]
    a_proj_job = requests.post(base + "/api/v1/todos/ical", headers=auth(a_key), timeout=10).json()["task_id"]
    full_jobs(base, {"alice": a_key}, bound=20)  # let A's jobs finish, so their results exist
    a_feed, b_feed = feed_path(base, a_key), feed_path(base, b_key)
    a_me = requests.get(base + "/api/v1/me", headers=auth(a_key), timeout=10).json()

    def a_state():
        todos = requests.get(base + "/api/v1/todos", headers=auth(a_key), timeout=10).json()
        return ([(t["id"], t["title"], t["completed"], t["deadline_at"]) for t in todos],
                requests.get(base + "/api/v1/me", headers=auth(a_key), timeout=10).json(),
                feed_path(base, a_key))

    before = a_state()
    checked = 0

    def expect(label: str, r: requests.Response, status: int, json_error: bool = True) -> None:
        nonlocal checked
        checked += 1
        if r.status_code != status or (json_error and not is_json_error(r)):
            problems.append(f"{label}: expected {status} with a JSON error, got {r.status_code} "
                            f"{r.headers.get('Content-Type')} {r.text[:160]!r}")

    # --- B against A's resources -----------------------------------------------------------
    for tid in range(2, 6):  # B has todo 1 only; A has 1..5
        expect(f"B GET /api/v1/todos/{tid} (A's)", requests.get(f"{base}/api/v1/todos/{tid}", headers=auth(b_key), timeout=10), 404)
        expect(f"B PUT /api/v1/todos/{tid} (A's)", requests.put(f"{base}/api/v1/todos/{tid}", headers=auth(b_key),
                                                                  json={"title": "pwned"}, timeout=10), 404)
    never = requests.delete(f"{base}/api/v1/todos/999999", headers=auth(b_key), timeout=10)
    for tid in range(2, 6):
        r = requests.delete(f"{base}/api/v1/todos/{tid}", headers=auth(b_key), timeout=10)
        checked += 1
        if (r.status_code, r.text) != (never.status_code, never.text):
            problems.append(f"B DELETE /api/v1/todos/{tid} (A's): {r.status_code} {r.text[:120]!r} differs from "
                            f"the answer for an id that never existed ({never.status_code} {never.text[:60]!r})")
    r = requests.get(f"{base}/api/v1/todos/1", headers=auth(b_key), timeout=10)
    checked += 1
    if r.status_code != 200 or r.json().get("title") != "bob own":
        problems.append(f"B GET /api/v1/todos/1 should be B's own todo, got {r.status_code} {r.text[:120]!r}")
    r = requests.post(f"{base}/api/v1/todos/complete", headers=auth(b_key), json={"ids": [2, 3, 4, 5]}, timeout=10)
    checked += 1
    if r.status_code != 200 or sorted(r.json().get("not_found", [])) != [2, 3, 4, 5]:
        problems.append(f"B completing A's ids 2..5: expected all in not_found, got {r.status_code} {r.text[:160]!r}")
    listing = requests.get(f"{base}/api/v1/todos", headers=auth(b_key), timeout=10).text
    checked += 1
    if any(t in listing for t in a_titles):
        problems.append("B's GET /api/v1/todos contains A's todos")
    for op, job in (("status", a_job), ("result", a_job), ("status", a_proj_job), ("result", a_proj_job)):
        expect(f"B GET /api/v1/todos/ical/<A's job>/{op}",
               requests.get(f"{base}/api/v1/todos/ical/{job}/{op}", headers=auth(b_key), timeout=10), 404)
    # A's own jobs answer A (control).
    r = requests.get(f"{base}/api/v1/todos/ical/{a_job}/status", headers=auth(a_key), timeout=10)
    checked += 1
    if r.status_code != 200:
        problems.append(f"A GET its own job status: {r.status_code} {r.text[:120]!r}")
    # Feeds: B's feed is not A's; each contains only its owner's todos; B rotating leaves A alone.
    checked += 1
    if a_feed == b_feed:
        problems.append("A and B got the same feed URL")
    for _ in range(50):  # the projection is asynchronous: wait for B's own todo to appear
        bf = requests.get(base + b_feed, timeout=10)
        if b"bob own" in bf.content:
            break
        time.sleep(0.1)
    checked += 1
    if bf.status_code != 200 or any(t.encode() in bf.content for t in a_titles) or b"bob own" not in bf.content:
        problems.append(f"B's feed: {bf.status_code}, contains A's todos: {any(t.encode() in bf.content for t in a_titles)}, "
                        f"contains B's own: {b'bob own' in bf.content}")
    requests.post(base + "/api/v1/feed/rotate", headers=auth(b_key), timeout=10)
    requests.patch(base + "/api/v1/me", headers=auth(b_key), json={"time_zone": "Asia/Tokyo"}, timeout=10)
    r = requests.get(base + a_feed, timeout=10)
    checked += 1
    if r.status_code != 200 or not all(t.encode() in r.content for t in a_titles):
        problems.append(f"A's feed after B's requests: {r.status_code}, not all of A's todos in it")
    expect("an unknown feed token", requests.get(base + "/feeds/cal_" + "x" * 43 + ".ics", timeout=10), 404)
    expect("B's feed token after B rotated it", requests.get(base + b_feed, timeout=10), 410)
    after = a_state()
    checked += 1
    if after != before:
        problems.append(f"A's data changed through B's requests: before {before!r:.300}, after {after!r:.300}")

    # --- every operation needing a key: missing, wrong or malformed key is 401 JSON -----------
    path_values = {"{id}": "1", "{task_id}": a_job, "{token}": urlsplit(a_feed).path.split("/")[-1][:-4]}
    bad_credentials = {
        "no Authorization": {},
        "wrong key": {"Authorization": "Bearer alm_" + "A" * 43},
        "empty bearer": {"Authorization": "Bearer "},
        "basic auth": {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()},
        "A's key with a changed last character": {"Authorization": "Bearer " + a_key[:-1] + ("A" if a_key[-1] != "A" else "B")},
    }
    statuses_401 = 0
    for op_id, (method, template, security) in sorted(ops.items()):
        if op_id in PUBLIC or not security:
            continue
        path = template
        for k, v in path_values.items():
            path = path.replace(k, v)
        creds = dict(bad_credentials)
        if op_id == "createUser":
            creds["a user's API key instead of the admin token"] = auth(a_key)
        else:
            creds["the admin token instead of an API key"] = {"Authorization": f"Bearer {server.admin_token}"}
        for label, headers in creds.items():
            r = requests.request(method, base + path, headers=headers, json=BODIES.get(op_id), timeout=10)
            checked += 1
            if r.status_code != 401 or not is_json_error(r):
                problems.append(f"{method} {template} ({op_id}) with {label}: expected 401 with a JSON error, got "
                                f"{r.status_code} {r.headers.get('Content-Type')} {r.text[:120]!r}")
            elif "WWW-Authenticate" not in r.headers:
                problems.append(f"{method} {template} with {label}: 401 without WWW-Authenticate")
            else:
                statuses_401 += 1
    after_keyless = a_state()
    checked += 1
    if after_keyless != before:
        problems.append(f"A's data changed through requests without a valid key: {after_keyless!r:.300}")
    figures["operations in the document"] = len(ops)
    figures["checks made"] = checked
    figures["401 answers checked"] = statuses_401
    fail_if(problems, server)
