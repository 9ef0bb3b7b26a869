"""6. A hostile web page against `almanac serve --auth none` (every request acts as `default`):

- cross-site "simple" requests (no CORS preflight): a POST with Content-Type text/plain,
  application/x-www-form-urlencoded or multipart/form-data must be refused with 415 and change
  nothing;
- DNS rebinding (`Host: evil.example`) and cross-origin requests (`Origin: https://evil.example`)
  must be refused with 403, on reads and writes, and `GET /api/v1/feed` must not leak the feed URL;
- `almanac serve --auth none --hostname 127.evil.example` (a host NAME that only looks like a
  loopback address) must refuse to start, saying why.

Positive controls (the same requests from the machine itself, `Host: 127.0.0.1:<port>` or
`localhost:<port>`, no Origin or the server's own origin) must work, so a server that refuses
everything does not pass.
"""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
import requests

from conftest import budget
from harness import almanac_bin, fail_if, free_port

SIMPLE_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]


def state(base: str) -> tuple:
    todos = requests.get(base + "/api/v1/todos", timeout=10).json()
    me = requests.get(base + "/api/v1/me", timeout=10).json()
    feed = requests.get(base + "/api/v1/feed", timeout=10).json()["https"]
    return ([(t["id"], t["title"], t["completed"]) for t in todos], me, feed)


@pytest.mark.timeout(budget(90, 300))
def test_hostile_page_on_auth_none(pg, server_factory, figures):
    server = server_factory(pg.url, auth="none", name="authnone")
    server.start()
    base = server.base
    port = base.rsplit(":", 1)[1]
    problems: list[str] = []

    # Positive controls.
    seed = requests.post(base + "/api/v1/todos", json={"title": "mine"}, timeout=10)
    assert seed.status_code == 201, f"--auth none: a plain JSON POST from the machine itself: {seed.status_code} {seed.text}"
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        for origin in (None, f"http://{host}"):
            hdrs = {"Host": host} | ({"Origin": origin} if origin else {})
            r = requests.get(base + "/api/v1/todos", headers=hdrs, timeout=10)
            if r.status_code != 200:
                problems.append(f"control: GET /api/v1/todos with Host {host}, Origin {origin}: {r.status_code} "
                                f"(the machine's own requests must work)")
    before = state(base)
    answers: dict[str, int] = {}
    groups: dict[str, list[tuple[str, int, str]]] = {}

    def summarize(group: str, expected: int) -> None:
        results = groups[group]
        got = Counter(status for _, status, _ in results)
        figures[f"{group}: answers"] = dict(sorted(got.items()))
        wrong = [(label, status, text) for label, status, text in results if status != expected]
        if wrong:
            examples = "; ".join(f"{label} → {status} {text!r}" for label, status, text in wrong[:4])
            problems.append(f"{group}: expected {expected} for all {len(results)} requests, got "
                            f"{dict(sorted(got.items()))}; e.g. {examples}")

    # 1. Simple cross-site requests: no preflight, so the body's content type is the only guard.
    writes = [("POST", "/api/v1/todos", '{"title": "from evil.example"}'),
              ("PUT", "/api/v1/todos/1", '{"completed": true}'),
              ("POST", "/api/v1/todos/complete", '{"ids": [1]}'),
              ("PATCH", "/api/v1/me", '{"time_zone": "Pacific/Kiritimati"}')]
    for ctype in SIMPLE_TYPES:
        for method, path, body in writes:
            r = requests.request(method, base + path, data=body.encode(), headers={"Content-Type": ctype}, timeout=10)
            groups.setdefault("cross-site simple requests (text/plain, form, multipart bodies)", []).append(
                (f"{method} {path} as {ctype.split(';')[0]}", r.status_code, r.text[:70]))
    summarize("cross-site simple requests (text/plain, form, multipart bodies)", 415)
    after = state(base)
    if after != before:
        problems.append(f"simple cross-site requests changed data: before {before!r:.200}, after {after!r:.200}")

    # 2. DNS rebinding (foreign Host) and cross-origin requests (foreign Origin).
    hostile = {"Host: evil.example": {"Host": "evil.example"},
               f"Host: evil.example:{port}": {"Host": f"evil.example:{port}"},
               "Origin: https://evil.example": {"Origin": "https://evil.example"},
               "Origin: null": {"Origin": "null"}}
    routes = [("GET", "/api/v1/todos", None), ("GET", "/api/v1/feed", None), ("GET", "/api/v1/me", None),
              ("POST", "/api/v1/todos", {"title": "rebound"}), ("POST", "/api/v1/feed/rotate", None),
              ("POST", "/api/v1/todos/ical", None), ("DELETE", "/api/v1/todos/1", None)]
    for label, hdrs in hostile.items():
        for method, path, body in routes:
            r = requests.request(method, base + path, headers=hdrs, json=body, timeout=10)
            group = "foreign Host (DNS rebinding)" if label.startswith("Host") else "foreign Origin"
            groups.setdefault(group, []).append((f"{method} {path} with {label}", r.status_code, r.text[:70]))
            if path == "/api/v1/feed" and "/feeds/" in r.text:
                problems.append(f"GET /api/v1/feed with {label} leaked the secret feed URL: {r.text[:90]!r}…")
    summarize("foreign Host (DNS rebinding)", 403)
    summarize("foreign Origin", 403)
    after2 = state(base)
    if after2 != before:
        problems.append(f"foreign Host/Origin requests changed data: before {before!r:.200}, after {after2!r:.200}")

    # 3. A host name that starts with "127." is not a loopback address.
    refused = []
    for hostname in ("127.evil.example", "127.0.0.1.evil.example"):
        p = free_port()
        cmd = [str(almanac_bin()), "serve", "--auth", "none", "--hostname", hostname, "--port", str(p),
               "--database-url", pg.url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=server.workdir, start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=20)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            code = None
        lines = [l for l in out.splitlines() if l.strip()]
        message = next((l for l in reversed(lines) if l.startswith("Error") or "loopback" in l.lower()),
                       lines[-1] if lines else "")
        refused.append(f"{hostname}: exit {code}: {message[:160]}")
        if code is None:
            problems.append(f"serve --auth none --hostname {hostname}: started and kept running (killed after 20 s)")
        elif code == 0 or "loopback" not in out.lower():
            started = "authentication is off" in out
            problems.append(f"serve --auth none --hostname {hostname}: must refuse the name as not a loopback address "
                            f"before doing anything; it exited {code} with: {message[:200]!r}"
                            + (" (after accepting the name: it logged 'authentication is off' and started its services)"
                               if started else ""))
    figures["--hostname names"] = refused
    fail_if(problems, server)
