"""The benchmark keeps working: one run at the smallest size, no timing assertions.

``python -m exporter.bench --sizes 1000 --quick`` starts the simulator, the exporter,
the common-pattern server and nginx (when installed) as real processes on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import REPO

TIMEOUT_SECONDS = 180


def test_benchmark_runs_at_the_smallest_size(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "exporter.bench", "--sizes", "1000", "--quick", "--json", str(raw)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
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
