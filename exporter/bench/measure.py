"""The measurements: one size, the healthz-during-refresh case and the RSS soak."""

from __future__ import annotations

import gzip
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from .floor import StaticServer
from .procs import Process, peak_rss_of
from .scrape import GZIP, PLAIN, Latency, Scraper
from .setup import Case, Exporter, Upstream, exporter, upstream


@dataclass(frozen=True, slots=True)
class Effort:
    """How much to measure."""

    scrapes: int = 100
    refreshes: int = 3
    common_seconds: float = 20.0
    common_max: int = 50
    nginx: str | None = None


@dataclass
class Refresh:
    """Medians over the measured refreshes of one case."""

    wall: float
    gzip_lag: float
    cpu: float
    loop_cpu: float
    render_cpu: float
    requests: int
    planned_requests: int
    series: int


@dataclass
class SizeResult:
    """Everything measured at one size."""

    target: int
    case: Case
    refresh: Refresh
    bytes_plain: int
    bytes_gzip: int
    ours_plain: Latency
    ours_gzip: Latency
    peak_rss: int
    floor_plain: Latency | None = None
    floor_gzip: Latency | None = None
    common_plain: Latency | None = None
    common_peak_rss: int = 0
    common_identical: bool = False
    notes: list[str] = field(default_factory=list)


def measure_refreshes(target: Exporter, sim: Upstream, count: int) -> Refresh:
    """``count`` refreshes (after the first, which the child already ran)."""
    runs = []
    requests = []
    for _ in range(count):
        before = sim.capacity_requests()
        runs.append(target.command(cmd="refresh"))
        requests.append(sim.capacity_requests() - before)
        if not runs[-1]["up"]:
            raise RuntimeError("a refresh failed; see the exporter log")

    def median(key: str) -> float:
        return statistics.median(float(r[key]) for r in runs)

    return Refresh(
        wall=median("wall"),
        gzip_lag=median("gzip_lag"),
        cpu=median("cpu"),
        loop_cpu=median("loop_cpu"),
        render_cpu=median("render_cpu"),
        requests=max(requests),
        planned_requests=int(runs[-1]["planned_requests"]),
        series=int(runs[-1]["series"]),
    )


def interleaved(scrapers: dict[str, Scraper], rounds: int) -> dict[str, Latency]:
    """Plain and gzip scrapes of every server, round-robin so that noise hits all alike."""
    samples: dict[str, list[float]] = {}
    for warmup in (True, False):
        for _ in range(2 if warmup else rounds):
            for name, scraper in scrapers.items():
                for kind, headers in (("plain", PLAIN), ("gzip", GZIP)):
                    seconds, _, _ = scraper.fetch(headers)
                    if not warmup:
                        samples.setdefault(f"{name}_{kind}", []).append(seconds)
    return {key: Latency.of(values) for key, values in samples.items()}


def common_pattern(
    target: Exporter, workdir: Path, effort: Effort, ours_plain: bytes
) -> tuple[Latency, int, bool]:
    """Serve the same rows with prometheus_client; time plain scrapes within a budget."""
    data = workdir / "rows.json"
    target.command(cmd="dump", path=str(data))
    env = dict(os.environ)
    with Process("exporter.bench.common", [str(data)], env, workdir / "common.log") as common:
        port = int(json.loads(common.readline(120))["port"])
        scraper = Scraper(f"http://127.0.0.1:{port}")
        first, body, _ = scraper.fetch(PLAIN)
        identical = ours_plain.startswith(body) and body.count(b"\n") > 0
        count = max(3, min(effort.common_max, int(effort.common_seconds / max(first, 1e-3))))
        samples = [scraper.fetch(PLAIN)[0] for _ in range(count)]
        scraper.close()
        rss = peak_rss_of(common.pid)
    return Latency.of(samples), rss, identical


def measure_size(target_series: int, days: int, effort: Effort, workdir: Path) -> SizeResult:
    """Refresh, exposition and scrape measurements at one size."""
    case = Case.for_series(target_series, days)
    with upstream(case, workdir) as sim, exporter(case, sim.base_url, workdir) as target:
        refresh = measure_refreshes(target, sim, effort.refreshes)
        ours = Scraper(target.url)
        _, plain, _ = ours.fetch(PLAIN)
        _, compressed, encoding = ours.fetch(GZIP)
        if encoding != "gzip" or gzip.decompress(compressed) != plain:
            raise RuntimeError("the gzip body does not decompress to the plain body")
        scrapers = {"ours": ours}
        floor: StaticServer | None = None
        if effort.nginx:
            floor = StaticServer(effort.nginx, workdir, plain, compressed)
            scrapers["floor"] = Scraper(floor.url)
        try:
            latencies = interleaved(scrapers, effort.scrapes)
        finally:
            if floor is not None:
                floor.stop()
        common, common_rss, identical = common_pattern(target, workdir, effort, plain)
        peak = int(target.command(cmd="stats")["peak_rss"])
        ours.close()
    return SizeResult(
        target=target_series,
        case=case,
        refresh=refresh,
        bytes_plain=len(plain),
        bytes_gzip=len(compressed),
        ours_plain=latencies["ours_plain"],
        ours_gzip=latencies["ours_gzip"],
        peak_rss=peak,
        floor_plain=latencies.get("floor_plain"),
        floor_gzip=latencies.get("floor_gzip"),
        common_plain=common,
        common_peak_rss=common_rss,
        common_identical=identical,
    )


@dataclass
class HealthResult:
    """``/healthz`` while a large refresh runs."""

    case: Case
    healthz: Latency
    refresh: Refresh
    minimum_requests: int


def measure_healthz(case: Case, workdir: Path) -> HealthResult:
    """Poll ``/healthz`` every 10 ms while one refresh of ``case`` runs."""
    with upstream(case, workdir) as sim, exporter(case, sim.base_url, workdir) as target:
        minimum = case.minimum_requests(sim.base_url)
        probe = Scraper(target.url, "/healthz")
        probe.fetch({})
        before = sim.capacity_requests()
        target.process.send({"cmd": "refresh", "render": False})
        samples: list[float] = []
        while not target.process.line_ready(0.01):
            samples.append(probe.fetch({})[0])
        run = target.process.answer(60)
        requests = sim.capacity_requests() - before
        probe.close()
    refresh = Refresh(
        wall=float(run["wall"]),
        gzip_lag=float(run["gzip_lag"]),
        cpu=float(run["cpu"]),
        loop_cpu=float(run["loop_cpu"]),
        render_cpu=float(run["render_cpu"]),
        requests=requests,
        planned_requests=int(run["planned_requests"]),
        series=int(run["series"]),
    )
    return HealthResult(case, Latency.of(samples or [0.0]), refresh, minimum)


@dataclass
class SoakResult:
    """RSS over many refreshes with constant data."""

    case: Case
    refreshes: int
    scrapes: int
    samples: list[tuple[int, int]]
    seconds: float

    @property
    def baseline(self) -> int:
        """RSS after the first tenth of the refreshes (allocator and caches warm)."""
        warm = [rss for index, rss in self.samples if index >= self.refreshes // 10]
        return warm[0] if warm else self.samples[-1][1]

    @property
    def growth(self) -> float:
        """Relative growth of RSS from the baseline to the highest later sample."""
        later = [rss for index, rss in self.samples if index >= self.refreshes // 10]
        return max(later) / self.baseline - 1 if self.baseline else 0.0


def measure_soak(case: Case, refreshes: int, workdir: Path) -> SoakResult:
    """``refreshes`` refreshes back to back while the parent keeps scraping."""
    with upstream(case, workdir) as sim, exporter(case, sim.base_url, workdir) as target:
        scraper = Scraper(target.url)
        started = time.perf_counter()
        target.process.send({"cmd": "soak", "count": refreshes, "every": max(1, refreshes // 20)})
        scrapes = 0
        while not target.process.line_ready(0.0):
            scraper.fetch(GZIP if scrapes % 2 else PLAIN)
            scrapes += 1
        run = target.process.answer(60)
        seconds = time.perf_counter() - started
        scraper.close()
    samples = [(int(i), int(rss)) for i, rss in run["samples"]]
    return SoakResult(case, refreshes, scrapes, samples, seconds)
