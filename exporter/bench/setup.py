"""Starting the simulator and the exporter under test for one benchmark case."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..config import load_settings
from ..plan import make_plan
from ..simulator.options import FIRST_USER_ID
from .procs import Process

TOKEN = "demo-token"  # noqa: S105 - the simulator's fixed demo credential
GAUGES = 6  # capacity gauges per entity and date with every field present
START_SECONDS = 180.0

UPSTREAM_NICENESS = 10


@dataclass(frozen=True, slots=True)
class Case:
    """One measured configuration: entities x days, upstream latency."""

    entities: int
    days: int = 28
    latency: float = 0.0
    max_concurrency: int = 4

    @classmethod
    def for_series(cls, series: int, days: int = 28) -> Case:
        """The smallest case with at least ``series`` capacity series."""
        return cls(max(1, -(-series // (days * GAUGES))), days)

    @property
    def user_ids(self) -> list[int]:
        """Ids the simulator knows and the exporter asks for."""
        return list(range(FIRST_USER_ID, FIRST_USER_ID + self.entities))

    def exporter_env(self, api_url: str) -> dict[str, str]:
        """The exporter's settings, as the environment of its process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
        env.update(
            TOGGL_FOCUS_API_URL=api_url,
            TOGGL_FOCUS_API_TOKEN=TOKEN,
            TOGGL_FOCUS_ORGANIZATION_ID="1",
            TOGGL_FOCUS_WORKSPACE_ID="1",
            TOGGL_FOCUS_USER_IDS=",".join(map(str, self.user_ids)),
            TOGGL_FOCUS_HORIZON_DAYS=str(self.days),
            TOGGL_FOCUS_REFRESH_INTERVAL="86400",
            TOGGL_FOCUS_REQUEST_BUDGET="10000000",
            TOGGL_FOCUS_MAX_CONCURRENCY=str(self.max_concurrency),
            TOGGL_FOCUS_LISTEN_ADDRESS="127.0.0.1:0",
            TOGGL_FOCUS_LOG_LEVEL="warning",
        )
        return env

    def minimum_requests(self, api_url: str) -> int:
        """Requests per refresh that the URL-length limit allows at best (``plan_batches``)."""
        env = self.exporter_env(api_url)
        overrides: dict[str, Any] = {
            k.removeprefix("TOGGL_FOCUS_").lower(): v
            for k, v in env.items()
            if k.startswith("TOGGL_FOCUS_")
        }
        settings = load_settings(None, **overrides)
        return make_plan(settings, time.time(), self.user_ids, []).requests


class Upstream:
    """The simulator as a process, with its control endpoint."""

    def __init__(self, process: Process, base_url: str) -> None:
        self.process = process
        self.base_url = base_url
        self._control = base_url.removesuffix("/api") + "/_simulator"

    def capacity_requests(self) -> int:
        """Capacities requests received so far."""
        records = httpx.get(self._control + "/requests", timeout=60).json()
        return sum(1 for r in records if r.get("endpoint") == "capacities")


@contextmanager
def upstream(case: Case, workdir: Path) -> Iterator[Upstream]:
    """``python -m exporter.simulator`` with the case's entities and latency."""
    args = [
        "--listen", "127.0.0.1:0",
        "--users", str(case.entities),
        "--ghosts", "0",
        "--fields", "all",
        "--latency", str(case.latency),
    ]  # fmt: skip
    env = {**os.environ, "SIMULATOR_TOKEN": TOKEN}
    # The upstream is remote in production: on this shared 2-core machine its double runs
    # at a lower priority, so that it does not take CPU time from the exporter under test.
    with Process(
        "exporter.simulator", args, env, workdir / "simulator.log", niceness=UPSTREAM_NICENESS
    ) as process:
        base_url = process.readline(START_SECONDS).strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"simulator printed {base_url!r} instead of its URL")
        yield Upstream(process, base_url)


@dataclass
class Exporter:
    """The exporter under test (``exporter.bench.child``) and its port."""

    process: Process
    port: int
    started: dict[str, Any]

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def command(self, timeout: float = 600.0, **message: object) -> dict[str, Any]:
        """Run one command in the child and return its answer."""
        return self.process.request(message, timeout)


@contextmanager
def exporter(case: Case, api_url: str, workdir: Path) -> Iterator[Exporter]:
    """Start the exporter under test; returns once its first refresh is published."""
    log = workdir / "exporter.log"
    with Process("exporter.bench.child", [], case.exporter_env(api_url), log, True) as process:
        ready = json.loads(process.readline(START_SECONDS))
        yield Exporter(process, int(ready["port"]), ready)
