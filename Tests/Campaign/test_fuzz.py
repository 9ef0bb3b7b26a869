"""1. Fuzzing: schemathesis against the OpenAPI document the server serves, all operations,
with a valid API key, with none, and (for POST /api/v1/users) with the admin token.

Checks: not_a_server_error (no 5xx), status_code_conformance and content_type_conformance
(every answer's status and content type is documented for its operation),
response_schema_conformance (bodies match the documented schemas); with a key also
ignored_auth (the routes that need a key refuse a request without it).
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import MODE, budget

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance"]

PASSES = {
    # name: (which credential, extra checks, operation filter)
    "api_key": ("user", ["ignored_auth"], []),
    "no_key": (None, [], []),
    "admin_token": ("admin", [], ["--include-operation-id", "createUser"]),
}


def schemathesis_command() -> list[str]:
    exe = shutil.which("schemathesis") or shutil.which("st")
    if exe:
        return [exe]
    return [sys.executable, "-m", "schemathesis.cli"]


def failure_section(output: str, limit: int = 6000) -> str:
    """The FAILURES part of schemathesis' report (what failed, the answer, a curl to reproduce)."""
    start = output.find("FAILURES")
    end = output.find("=== WARNINGS", start if start >= 0 else 0)
    if end < 0:
        end = output.find("=== SUMMARY", start if start >= 0 else 0)
    text = output[start:end].rstrip("= \n") if start >= 0 else output[-limit:]
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text[:limit] + ("\n… (truncated)" if len(text) > limit else "")


@pytest.mark.timeout(budget(240, 1800))
@pytest.mark.parametrize("credential", list(PASSES))
def test_fuzz_openapi(credential, server, workdir, figures):
    who, extra_checks, selection = PASSES[credential]
    headers = []
    if who == "user":
        headers = ["-H", f"Authorization: Bearer {server.create_user('fuzzer')}"]
    elif who == "admin":
        headers = ["-H", f"Authorization: Bearer {server.admin_token}"]
    seed = int(os.environ.get("CAMPAIGN_SEED") or random.randrange(1, 2**31))
    report_dir = workdir / f"schemathesis-{credential}"
    cmd = schemathesis_command() + [
        "run", f"{server.base}/api/v1/openapi.yaml", "--url", server.base,
        "--checks", ",".join(CHECKS + extra_checks),
        "--max-examples", str(MODE.fuzz_examples), "--seed", str(seed),
        "--request-timeout", "10", "--workers", "2", "--no-color",
        "--generation-database", "none", "--suppress-health-check", "all",
        "--report", "json,har", "--report-dir", str(report_dir),
        *headers, *selection,
    ]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=MODE.fuzz_timeout,
                             cwd=workdir, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"schemathesis ({credential}) did not finish within {MODE.fuzz_timeout} s "
                    f"(a hanging request?)\n{out[-3000:]}\nserver log:\n{server.log_tail()}")
    output = run.stdout + run.stderr
    (workdir / f"schemathesis-{credential}.log").write_text(output)

    report_files = glob.glob(str(report_dir / "json-*.json"))
    har_files = glob.glob(str(report_dir / "har-*.json"))
    assert report_files, f"schemathesis wrote no JSON report (exit {run.returncode}):\n{output[-4000:]}"
    report = json.loads(Path(report_files[0]).read_text())
    statuses: Counter = Counter()
    requests_sent = 0
    if har_files:
        entries = json.loads(Path(har_files[0]).read_text())["log"]["entries"]
        requests_sent = len(entries)
        statuses = Counter(e["response"]["status"] for e in entries)
    failures = report.get("failures") or []
    errors = report.get("errors") or []
    figures.update({
        "seed": seed,
        "operations tested": f"{(report.get('operations') or {}).get('tested')} of {(report.get('operations') or {}).get('total')}",
        "requests fuzzed": requests_sent or report["test_cases"]["generated"],
        "answers by status": dict(sorted(statuses.items())),
        "failures found": sum(f.get("count", 1) for f in failures),
        "failure kinds": figures_kinds(failures),
        "errors": len(errors),
    })
    if failures or errors or run.returncode != 0:
        pytest.fail(
            f"schemathesis ({credential}, seed {seed}, {MODE.fuzz_examples} examples per operation, "
            f"{len(failures)} kind(s) of failure"
            + (f", {len(errors)} errors" if errors else "") + f", exit {run.returncode}):\n"
            + "\n".join(f"  - {k}" for k in figures_kinds(failures))
            + f"\n\n{failure_section(output)}"
            + (f"\nerrors: {json.dumps(errors)[:1500]}" if errors else ""),
            pytrace=False)


def figures_kinds(failures: list[dict]) -> list[str]:
    return [f"{f['code']} {f['title']} ×{f.get('count', 1)} on {', '.join(f['operations'])}" for f in failures]
