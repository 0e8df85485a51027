"""Load and soak on loopback, bounded in count and time.

- Many concurrent scrapers: no errors, refreshes go on, ``/healthz`` stays responsive.
- Soak: hundreds of fast refreshes while the upstream's entities change: memory and open
  file descriptors stay flat and the series count does not grow.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faultsupport import Rig, open_fds, rss_kib, running_rig, value
from support import REPO

from exporter.app import Exporter
from exporter.config import load_settings
from exporter.web import make_app, start_server

SCRAPERS = 48
SCRAPES = 1500
LOAD_SECONDS = 20.0


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    with running_rig(horizon_days=28) as rig:
        yield rig


@pytest.mark.slow
def test_many_concurrent_scrapers(rig: Rig) -> None:
    url = rig.exporter.url
    health_latencies: list[float] = []
    done = threading.Event()

    def probe_health() -> None:
        with httpx.Client(timeout=5) as client:
            while not done.is_set():
                started = time.perf_counter()
                assert client.get(url + "/healthz").status_code == 200
                health_latencies.append(time.perf_counter() - started)
                time.sleep(0.05)

    async def scrape_all() -> list[int]:
        statuses: list[int] = []
        remaining = SCRAPES
        deadline = time.monotonic() + LOAD_SECONDS
        limits = httpx.Limits(max_connections=SCRAPERS, max_keepalive_connections=SCRAPERS)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:

            async def scraper(index: int) -> None:
                nonlocal remaining
                headers = {"Accept-Encoding": "gzip"} if index % 2 else {}
                if index % 3 == 0:
                    headers["Accept"] = "application/openmetrics-text"
                while remaining > 0 and time.monotonic() < deadline:
                    remaining -= 1
                    response = await client.get(url + "/metrics", headers=headers)
                    statuses.append(response.status_code)
                    assert b"toggl_focus_up" in response.content

            await asyncio.gather(*(scraper(i) for i in range(SCRAPERS)))
        return statuses

    before = rig.scrape()
    requests_before = rig.sim.count("capacities")
    prober = threading.Thread(target=probe_health, daemon=True)
    started = time.monotonic()
    prober.start()
    try:
        statuses = asyncio.run(scrape_all())
    finally:
        done.set()
        prober.join(10)
    elapsed = time.monotonic() - started
    assert len(statuses) >= SCRAPES * 0.5, f"only {len(statuses)} scrapes in {elapsed:.1f} s"
    assert set(statuses) == {200}
    assert health_latencies, "no health probe finished"
    assert max(health_latencies) < 1.0
    # refreshes went on at their pace (about one a second) while the scrapers ran
    assert rig.sim.count("capacities") - requests_before >= int(elapsed * 0.6) - 1
    after = rig.scrape()
    assert value(after, "toggl_focus_up") == 1
    assert value(after, "toggl_focus_last_refresh_success_timestamp_seconds") > value(
        before, "toggl_focus_last_refresh_success_timestamp_seconds"
    )


# --- soak ----------------------------------------------------------------------------------

SOAK_REFRESHES = 300
WARM_UP = 60
WORKING_ENTITY = re.compile(r'^toggl_focus_capacity_working_seconds\{[^}]*entity_id="(\d+)"', re.M)
CONFIGURED = list(range(1001, 1041))  # 40 users configured; the upstream knows a changing subset


@pytest.fixture
def simulator_process() -> Iterator[str]:
    """The simulator in its own process, so only the exporter lives in this one."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exporter.simulator",
            "--listen",
            "127.0.0.1:0",
            "--users",
            str(len(CONFIGURED)),
            "--ghosts",
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.slow
def test_soak_memory_fds_and_series_stay_flat(
    simulator_process: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in list(os.environ):
        if key.startswith("TOGGL_FOCUS_"):
            monkeypatch.delenv(key)
    settings = load_settings(
        api_url=simulator_process,
        api_token="demo-token",
        organization_id=1,
        workspace_id=1,
        user_ids=",".join(map(str, CONFIGURED)),
        refresh_interval=1,
        request_budget=3600,
        listen_address="127.0.0.1:0",
    )
    control = simulator_process.removesuffix("/api") + "/_simulator/entities"
    pid = os.getpid()
    rng = random.Random(6)
    subsets = [sorted(rng.sample(CONFIGURED, rng.randint(1, len(CONFIGURED)))) for _ in range(20)]
    report: dict[str, list[int]] = {"rss": [], "fds": [], "series": [], "lines": []}
    by_subset: dict[int, set[int]] = {}

    async def soak() -> None:
        exporter = Exporter(settings)
        runner, port = await start_server(make_app(exporter, "soak"), "127.0.0.1", 0)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for index in range(SOAK_REFRESHES):
                    subset_index = index % len(subsets)
                    reply = await client.post(control, json={"users": subsets[subset_index]})
                    assert reply.status_code == 200
                    outcome = await exporter.collector.refresh()
                    assert outcome.complete
                    scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
                    shown = {int(i) for i in WORKING_ENTITY.findall(scraped.text)}
                    assert shown == set(subsets[subset_index])  # vanished entities are gone
                    series = exporter.collector.snapshot.series_count
                    by_subset.setdefault(subset_index, set()).add(series)
                    if index in (WARM_UP, SOAK_REFRESHES - 1):
                        report["rss"].append(rss_kib(pid))
                        report["fds"].append(open_fds(pid))
                    report["series"].append(series)
                    report["lines"].append(scraped.text.count("\n"))
        finally:
            await runner.cleanup()
            await exporter.client.aclose()

    started = time.monotonic()
    asyncio.run(soak())
    elapsed = time.monotonic() - started
    assert elapsed < 90, f"soak took {elapsed:.0f} s"
    rss_warm, rss_end = report["rss"]
    fds_warm, fds_end = report["fds"]
    assert rss_end - rss_warm < 16_000, f"RSS grew {rss_warm} -> {rss_end} KiB"
    assert fds_end - fds_warm <= 2, f"open fds grew {fds_warm} -> {fds_end}"
    # the same upstream state always yields the same number of series: nothing accumulates
    assert all(len(counts) == 1 for counts in by_subset.values()), by_subset
    assert max(report["series"]) <= len(CONFIGURED) * 28 * 6
    assert Path(f"/proc/{pid}/fd").exists()
