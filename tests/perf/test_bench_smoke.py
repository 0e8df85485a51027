"""The benchmark keeps working: one run at the smallest size, no timing assertions.

``python -m exporter.bench --sizes 1000 --quick`` starts the simulator, the exporter,
the common-pattern server and nginx (when installed) as real processes on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import REPO, require_binary

TIMEOUT_SECONDS = 180


def run_python(*args: str) -> str:
    """Run ``python ARGS`` in the repository; its stdout, after asserting it succeeded."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_benchmark_runs_at_the_smallest_size(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    out = run_python("-m", "exporter.bench", "--sizes", "1000", "--quick", "--json", str(raw))
    for heading in ("## Exposition and refresh", "## Scrape latency", "## During a refresh"):
        assert heading in out, out
    data = json.loads(raw.read_text())

    (size,) = data["sizes"]
    refresh = size["refresh"]
    assert refresh["series"] >= 1000
    assert size["case"]["entities"] * size["case"]["days"] * 6 == refresh["series"]
    # Every refresh asked exactly what the plan says, and the plan is the minimum.
    assert refresh["requests"] == refresh["planned_requests"] == 1
    assert 0 < size["bytes_gzip"] < size["bytes_plain"]
    assert size["ours_plain"]["count"] == size["ours_gzip"]["count"] == 10
    assert size["peak_rss"] > 0
    # The common pattern served the very same capacity bytes.
    assert size["common_identical"] is True
    assert size["common_plain"]["count"] >= 3

    health = data["health"]
    assert health["refresh"]["requests"] == health["minimum_requests"]
    assert health["healthz"]["count"] >= 1

    soak = data["soak"]
    assert soak["refreshes"] == soak["samples"][-1][0] == 30
    assert all(rss > 0 for _, rss in soak["samples"])


def test_independent_comparison_runs_and_both_servers_agree(tmp_path: Path) -> None:
    """``scripts/compare-scrape.py`` at its smallest: it exits non-zero when the exporter
    and the plain ``prometheus_client`` exporter serve different capacity samples."""
    require_binary("curl")
    raw = tmp_path / "compare.json"
    script = str(REPO / "scripts" / "compare-scrape.py")
    out = run_python(script, "--users", "6", "--scrapes", "2", "--json", str(raw))
    data = json.loads(raw.read_text())
    assert data["series"] == 6 * 28 * 6  # every field of every user and day, in both
    assert data["scrapes"] == 2
    assert data["ours_p50_ms"] > 0
    assert data["plain_p50_ms"] > 0
    assert "1,008 identical capacity samples" in out
