"""7. Hostile inputs: a title or description containing U+0000, deadlines in year 50 and in year 1
with an offset (whose UTC instant falls in year 0), and a title of one character followed by
100,000 combining marks. Each, on create (POST) and on update (PUT), must be either accepted
and round-trip exactly (the answer, GET /api/v1/todos/{id} and the list return the same string),
or refused with 400 and a JSON error naming the field. Never a 500, and never a silently
different date: an accepted deadline must show in the feed (?format=vtodo) on its own date.

Afterwards the user's calendar must still be served and equal a full regeneration.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from conftest import MODE, budget
from harness import auth, fail_if, feed_path, feeds_converge

ZALGO = "e" + "\u0301" * 100_000

CASES = [
    # (label, field, value, acceptable DUE values in the vtodo feed if it is a deadline)
    ("title with U+0000", "title", "a\u0000b", None),
    ("description with U+0000", "description", "a\u0000b", None),
    ("deadline 0050-01-02", "deadline_at", "0050-01-02", {"DUE;VALUE=DATE:00500102"}),
    ("deadline 0001-01-01T00:00+01:00", "deadline_at", "0001-01-01T00:00+01:00",
     {"DUE;VALUE=DATE:00010101", "DUE:00001231T230000Z"}),
    ("title of 1 character + 100,000 combining marks", "title", ZALGO, None),
    # A control the current code accepts, so the feed check itself is exercised.
    ("control deadline 1000-01-02T00:00:00", "deadline_at", "1000-01-02T00:00:00", {"DUE;VALUE=DATE:10000102"}),
]


def post_json(session, method: str, url: str, key: str, body: dict) -> requests.Response:
    data = json.dumps(body, ensure_ascii=False).encode()
    return session.request(method, url, data=data, timeout=30,
                           headers=auth(key) | {"Content-Type": "application/json"})


def describe(value: str) -> str:
    return repr(value) if len(value) < 40 else f"{value[:3]!r}… ({len(value):,} code points)"


def vtodo_components(feed: str) -> list[str]:
    unfolded = re.sub(r"\r\n[ \t]", "", feed)
    return re.findall(r"BEGIN:VTODO\r\n(.*?)END:VTODO", unfolded, flags=re.S)


@pytest.mark.timeout(budget(120, 300))
def test_inputs_round_trip_or_400(server, figures):
    base = server.base
    key = server.create_user("inputs")
    session = requests.Session()
    problems: list[str] = []
    outcomes: dict[str, str] = {}
    accepted_deadlines: list[tuple[str, str, set]] = []

    def check(label: str, how: str, r: requests.Response, field: str, value: str, todo_id: int | None) -> None:
        tag = f"{label} ({how})"
        if r.status_code in (200, 201):
            got = r.json().get(field)
            outcomes[tag] = f"{r.status_code} accepted"
            tid = r.json()["id"]
            fetched = session.get(f"{base}/api/v1/todos/{tid}", headers=auth(key), timeout=30).json().get(field)
            listed = next((t.get(field) for t in session.get(f"{base}/api/v1/todos", headers=auth(key), timeout=30).json()
                           if t["id"] == tid), None)
            for where, seen in (("the answer", got), ("GET /api/v1/todos/{id}", fetched), ("the list", listed)):
                if seen != value:
                    problems.append(f"{tag}: accepted with {r.status_code} but {where} returns {field} = "
                                    f"{describe(seen) if isinstance(seen, str) else seen!r} instead of {describe(value)}")
                    outcomes[tag] += f", {where} differs"
            if field == "deadline_at":
                accepted_deadlines.append((tag, f"case {tid}", tid))
        elif r.status_code == 400:
            try:
                message = r.json().get("error", "")
            except ValueError:
                message = ""
            outcomes[tag] = f"400 {message[:90]!r}"
            if not message:
                problems.append(f"{tag}: 400 without a JSON error body: {r.text[:120]!r}")
            elif field not in message:
                problems.append(f"{tag}: 400 whose error does not say which field is wrong ({field}): {message[:150]!r}")
        else:
            outcomes[tag] = f"{r.status_code} {r.text[:60]!r}"
            problems.append(f"{tag}: {field} = {describe(value)} answered {r.status_code} {r.text[:120]!r} "
                            f"(expected 2xx with an exact round trip, or 400 naming {field})")

    for label, field, value, due in CASES:
        # On create: the field under test, the rest ordinary; a unique title finds it in the feed.
        body = {"title": f"case {label}", field: value} if field != "title" else {field: value}
        if field == "deadline_at":
            body["title"] = f"case {label}"
        r = post_json(session, "POST", base + "/api/v1/todos", key, body)
        check(label, "POST", r, field, value, None)
        # On update of an ordinary todo.
        plain = post_json(session, "POST", base + "/api/v1/todos", key, {"title": f"plain for {label}"})
        plain.raise_for_status()
        tid = plain.json()["id"]
        r = post_json(session, "PUT", f"{base}/api/v1/todos/{tid}", key, {field: value})
        check(label, "PUT", r, field, value, tid)
        health = session.get(base + "/api/v1/health", timeout=10)
        if health.status_code != 200:
            problems.append(f"after {label}: /api/v1/health answered {health.status_code}")

    # Accepted deadlines must land on their own date in the vtodo feed.
    feed = feed_path(base, key)
    deadline_cases = {label: due for label, field, _, due in CASES if field == "deadline_at"}
    wanted = {tid: deadline_cases[tag.rsplit(" (", 1)[0]] for tag, _, tid in accepted_deadlines}
    text, status = "", None
    todos = {t["id"]: t for t in session.get(base + "/api/v1/todos", headers=auth(key), timeout=30).json()}

    def due_lines_of(tid: int) -> list[str]:
        title = todos.get(tid, {}).get("title", "")
        comps = [c for c in vtodo_components(text) if f"SUMMARY:{title}\r\n" in c]
        return [l for c in comps for l in c.split("\r\n") if l.startswith("DUE")]

    # The projection is asynchronous: wait for every todo and every accepted deadline. Counting
    # components is not enough: the last case's PUT adds a deadline to a todo already in the feed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        f = session.get(base + feed + "?format=vtodo", timeout=30)
        status = f.status_code
        if status == 200:
            text = f.content.decode("utf-8", errors="replace")
            if len(vtodo_components(text)) >= len(todos) and all(due_lines_of(tid) for tid in wanted):
                break
        time.sleep(0.2)
    if "\x00" in text:
        problems.append("the vtodo feed contains a raw NUL byte (not allowed in iCalendar)")
    for tid, due in wanted.items():
        title = todos.get(tid, {}).get("title", "")
        due_lines = due_lines_of(tid)
        if not due_lines:
            problems.append(f"todo {tid} ({title!r}, deadline {todos.get(tid, {}).get('deadline_at')!r}) accepted, "
                            f"but no DUE for it in the vtodo feed ({status})")
        elif not set(due_lines) & due:
            problems.append(f"todo {tid} deadline {todos[tid]['deadline_at']!r} accepted, but the feed says {due_lines} "
                            f"(a silently different date; expected one of {sorted(due)})")
    figures.update(outcomes)
    converge, feed_figures = feeds_converge(base, {"inputs": key}, bound=MODE.job_bound, feed_bound=10)
    figures.update(feed_figures)
    problems += [f"after these inputs: {p}" for p in converge]
    fail_if(problems, server)
