"""Helpers of the reliability tests: one exporter process against one simulator, scraped
and parsed, with a cursor over the exporter's log."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from support import ExporterProcess, base_env, start_exporter, wait_for

from exporter.simulator import Simulator, SimulatorOptions, SimulatorThread

Key = tuple[str, tuple[tuple[str, str], ...]]
USERS = (1001, 1002, 1003)
GHOSTS = (5001,)
CAPACITY_PREFIX = "toggl_focus_capacity_"
#: Settings that keep the suite fast: a refresh a second, one retry, short timeouts.
FAST = {
    "refresh_interval": 1,
    "request_budget": 3600,
    "request_timeout": 1,
    "max_retries": 1,
    "max_staleness": 120,
    "quota_pause": 3,
    "horizon_days": 14,
    "max_response_bytes": 256 * 1024,
}


def parse(text: str) -> dict[Key, float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = sample.value
    return samples


def value(samples: dict[Key, float], name: str, **labels: str) -> float:
    """The value of one series; 0 when absent (counters that never moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def capacity(samples: dict[Key, float]) -> dict[Key, float]:
    """Only the capacity gauges."""
    return {k: v for k, v in samples.items() if k[0].startswith(CAPACITY_PREFIX)}


@dataclass
class LogCursor:
    """Reads the lines a process logged after the cursor was made."""

    path: Path
    offset: int

    def text(self) -> str:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode(errors="replace")

    def lines(self, phrase: str) -> list[str]:
        return [line for line in self.text().splitlines() if phrase in line]


@dataclass
class Rig:
    """A simulator thread and an exporter process pointed at it."""

    thread: SimulatorThread
    exporter: ExporterProcess

    @property
    def sim(self) -> Simulator:
        return self.thread.simulator

    def scrape(self) -> dict[Key, float]:
        assert self.exporter.proc.poll() is None, "the exporter died"
        return parse(self.exporter.metrics())

    def up(self) -> float:
        return value(self.scrape(), "toggl_focus_up")

    def requests(self, endpoint: str, code: str) -> float:
        return value(self.scrape(), "toggl_focus_api_requests_total", endpoint=endpoint, code=code)

    def cursor(self) -> LogCursor:
        path = self.exporter.log_path
        return LogCursor(path, path.stat().st_size)

    def wait_up(self, up: float, timeout: float = 15.0) -> dict[Key, float]:
        def check() -> dict[Key, float] | None:
            samples = self.scrape()
            return samples if value(samples, "toggl_focus_up") == up else None

        return wait_for(check, timeout, what=f"toggl_focus_up {up:g}")

    def wait_refreshes(self, count: int, timeout: float = 15.0) -> None:
        """Wait until ``count`` more capacities requests reached the simulator."""
        start = self.sim.count("capacities")
        wait_for(
            lambda: self.sim.count("capacities") >= start + count,
            timeout,
            what=f"{count} more capacities request(s)",
        )

    def healthy(self) -> dict[Key, float]:
        """Clear every fault and wait for a complete, fresh refresh."""
        self.sim.set_fault(None)
        self.sim.reset_quota()
        samples = self.wait_up(1)
        assert capacity(samples), "no capacity data"
        return samples


def start_rig(**settings: object) -> Rig:
    thread = SimulatorThread(SimulatorOptions(users=len(USERS), ghosts=len(GHOSTS)))
    sim = thread.start()
    try:
        env = base_env(
            sim.base_url,
            user_ids=",".join(map(str, USERS)),
            ghost_ids=",".join(map(str, GHOSTS)),
            **{**FAST, **settings},
        )
        exporter = start_exporter(env)
    except BaseException:
        thread.stop()
        raise
    return Rig(thread, exporter)


def stop_rig(rig: Rig) -> None:
    try:
        rig.exporter.stop()
    finally:
        rig.thread.stop()


@contextlib.contextmanager
def running_rig(healthy: bool = True, **settings: object) -> Iterator[Rig]:
    """A rig for the ``with`` block; with ``healthy``, first checked to serve good data."""
    rig = start_rig(**settings)
    try:
        if healthy:
            rig.healthy()
        yield rig
    finally:
        stop_rig(rig)


def sane(samples: dict[Key, float]) -> None:
    """Capacity values are finite, non-negative and plausible."""
    for key, number in capacity(samples).items():
        assert math.isfinite(number), key
        assert 0 <= number <= 1e7 * 60, key


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    """Open file descriptors of a process."""
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def timed(action: Callable[[], object]) -> float:
    """Seconds ``action`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started
