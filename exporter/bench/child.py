"""The exporter under test: ``python -m exporter.bench.child``, driven over stdin/stdout.

Runs the real :class:`~exporter.app.Exporter` (settings from ``TOGGL_FOCUS_*``, real
aiohttp server, uvloop) with a refresh interval long enough that the benchmark decides
when refreshes happen. Commands arrive as JSON lines on stdin; each gets one JSON line
back on stdout:

- ``{"cmd": "refresh"}``: one refresh; wall time until published, CPU (this process and
  its reply-decoder child) until its gzip forms are ready too, and the CPU of the
  event-loop thread. RSS figures include the child as well.
- ``{"cmd": "soak", "count": N, "every": K}``: N refreshes, current RSS every K.
- ``{"cmd": "dump", "path": P}``: write the snapshot's capacity rows as JSON to P.
- ``{"cmd": "stats"}``: current and peak RSS.
- ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from ..app import Exporter, run_event_loop
from ..config import load_settings
from ..exposition import render
from ..logs import setup_logging
from ..snapshot import Snapshot

FIRST_REFRESH_SECONDS = 120.0


def _child_pids() -> list[int]:
    """Processes this one started (the reply decoder)."""
    pids: list[int] = []
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids += [int(pid) for pid in children.read_text().split()]
        except (OSError, ValueError):
            continue
    return pids


def _status_kib(pid: str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def current_rss() -> int:
    """Resident set size of this process and its children in bytes (0 without /proc)."""
    pids = ["self", *map(str, _child_pids())]
    return sum(_status_kib(pid, "VmRSS:") for pid in pids) * 1024


def peak_rss() -> int:
    """Peak resident set size of this process plus its children's peaks, in bytes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (own + sum(_status_kib(str(pid), "VmHWM:") for pid in _child_pids())) * 1024


def children_cpu() -> float:
    """CPU seconds used so far by this process's running children."""
    ticks = 0
    for pid in _child_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def _render_cpu(exporter: Exporter, snapshot: Snapshot) -> float:
    """CPU seconds of rendering ``snapshot`` once more (in this worker thread)."""
    started = time.thread_time()
    render(snapshot, exporter.metrics.registry)
    return time.thread_time() - started


def emit(message: dict[str, Any]) -> None:
    """One JSON line on stdout."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Driver:
    """Executes the benchmark's commands against a running exporter."""

    def __init__(self, exporter: Exporter) -> None:
        self.exporter = exporter

    async def refresh(self, measure_render: bool = True) -> dict[str, Any]:
        """One refresh, measured; then the render step alone, measured."""
        collector = self.exporter.collector
        wall, loop_cpu = time.perf_counter(), time.thread_time()
        cpu = time.process_time() + children_cpu()
        await collector.refresh()
        published = time.perf_counter()
        loop_cpu = time.thread_time() - loop_cpu
        await asyncio.wrap_future(self.exporter.exposition().gzip_bodies)
        gzip_lag = time.perf_counter() - published
        wall = published - wall
        cpu = time.process_time() + children_cpu() - cpu
        snapshot = collector.snapshot
        render_cpu = 0.0
        if measure_render:
            render_cpu = await asyncio.to_thread(_render_cpu, self.exporter, snapshot)
        exposition = self.exporter.exposition()
        return {
            "wall": wall,
            "gzip_lag": gzip_lag,
            "cpu": cpu,
            "loop_cpu": loop_cpu,
            "render_cpu": render_cpu,
            "planned_requests": collector.plan.requests,
            "series": snapshot.series_count,
            "bytes": exposition.size(openmetrics=False, compressed=False),
            "gzip_bytes": exposition.size(openmetrics=False, compressed=True),
            "rss": current_rss(),
            "peak_rss": peak_rss(),
            "up": self.exporter.metrics.status.up,
        }

    async def soak(self, count: int, every: int) -> dict[str, Any]:
        """``count`` refreshes with constant data; RSS sampled every ``every`` refreshes."""
        samples: list[tuple[int, int]] = []
        for index in range(1, count + 1):
            await self.exporter.collector.refresh()
            if index % every == 0 or index == count:
                samples.append((index, current_rss()))
        return {"samples": samples, "peak_rss": peak_rss()}

    def dump(self, path: str) -> dict[str, Any]:
        """The capacity rows, for the common-pattern server to serve the same data."""
        snapshot = self.exporter.collector.snapshot
        rows = [
            [entity.entity_type, entity.entity_id, c.day.isoformat(), list(c.values)]
            for entity in snapshot.entities
            for c in entity.computations
        ]
        Path(path).write_text(json.dumps({"workspace_id": snapshot.workspace_id, "rows": rows}))
        return {"rows": len(rows)}

    @staticmethod
    def stats() -> dict[str, Any]:
        """Current and peak RSS."""
        return {"rss": current_rss(), "peak_rss": peak_rss()}

    async def execute(self, command: dict[str, Any]) -> dict[str, Any]:
        """Run one command."""
        name = command.get("cmd")
        if name == "refresh":
            return await self.refresh(bool(command.get("render", True)))
        if name == "soak":
            return await self.soak(int(command["count"]), int(command.get("every", 10)))
        if name == "dump":
            return self.dump(str(command["path"]))
        if name == "stats":
            return self.stats()
        raise ValueError(f"unknown command {name!r}")


async def _first_publish(exporter: Exporter) -> None:
    """Wait until the first refresh's exposition is served (the exporter has no event)."""
    initial = exporter.exposition()
    while exporter.exposition() is initial or not exporter.collector.ready:  # noqa: ASYNC110
        await asyncio.sleep(0.02)


async def main() -> None:
    """Start the exporter, report its port, then serve commands until ``quit`` or EOF."""
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    exporter = Exporter(settings)
    stop, started = asyncio.Event(), asyncio.Event()
    running = asyncio.create_task(exporter.run(stop, started))
    try:
        listening = asyncio.create_task(started.wait())
        await asyncio.wait({running, listening}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            listening.cancel()
            running.result()
            raise RuntimeError("the exporter stopped before listening")
        async with asyncio.timeout(FIRST_REFRESH_SECONDS):
            await _first_publish(exporter)
        driver = Driver(exporter)
        emit({"event": "ready", "port": exporter.port, **driver.stats()})
        while line := await asyncio.to_thread(sys.stdin.readline):
            command = json.loads(line)
            if command.get("cmd") == "quit":
                break
            try:
                emit(await driver.execute(command))
            except Exception as exc:
                emit({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        stop.set()
        await running


if __name__ == "__main__":
    run_event_loop(main())
