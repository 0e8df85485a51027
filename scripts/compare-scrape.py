#!/usr/bin/env python3
"""Independent check of the scrape ratio: curl against the exporter and a plain exporter.

Shares nothing with ``python -m exporter.bench`` but the simulator: the exporter runs as
its real CLI, the plain exporter is written here from scratch the usual way (httpx polls
the simulator once, a ``prometheus_client`` custom collector builds its gauge families on
every scrape, ``start_http_server`` serves them) and imports nothing from ``exporter``,
and every scrape is timed by curl's own ``time_total``. Before timing, it checks that both
serve the same capacity samples (parsed by ``prometheus_client``'s text parser).

    python scripts/compare-scrape.py                 # 596 users x 28 days: 100,128 series
    python scripts/compare-scrape.py --users 6 --scrapes 3 --json out.json     # smoke test

Not a test: the ratio varies with the machine; the printed figures are the result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

REPO = Path(__file__).resolve().parent.parent
TOKEN = "demo-token"  # noqa: S105 - the simulator's fixed demo credential
DAYS = 28
FIELDS = {  # reply field -> gauge name (seconds: the reply's minutes x 60, except the count)
    "working_minutes": "toggl_focus_capacity_working_seconds",
    "estimated_minutes": "toggl_focus_capacity_estimated_seconds",
    "allocated_minutes": "toggl_focus_capacity_allocated_seconds",
    "estimated_remaining_minutes": "toggl_focus_capacity_estimated_remaining_seconds",
    "time_off_minutes": "toggl_focus_capacity_time_off_seconds",
    "assigned_tasks_count": "toggl_focus_capacity_assigned_tasks",
}
LABELS = ["date", "entity_id", "entity_type", "workspace_id"]
Sample = tuple[str, tuple[tuple[str, str], ...], float]


# --- the plain exporter ------------------------------------------------------------------


class PlainCollector(Collector):
    """Every family built anew on each scrape from the rows fetched at start."""

    def __init__(self, items: list[dict[str, object]]) -> None:
        self.items = items

    def collect(self) -> Iterator[Metric]:
        families = {
            field: GaugeMetricFamily(name, f"{field} (plain exporter)", labels=LABELS)
            for field, name in FIELDS.items()
        }
        for item in self.items:
            computations = item["computations"]
            assert isinstance(computations, list)
            for row in computations:
                labels = [row["date"], str(item["id"]), str(item["type"]), "1"]
                for field, family in families.items():
                    if row.get(field) is not None:
                        factor = 1 if field == "assigned_tasks_count" else 60
                        family.add_metric(labels, row[field] * factor)
        yield from families.values()


def serve_plain(api_url: str, users: int, port: int) -> int:
    """Fetch the window once, then serve it the common way until stdin closes."""
    today = time.strftime("%Y-%m-%d", time.gmtime())
    end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + (DAYS - 1) * 86400))
    items: list[dict[str, object]] = []
    ids = [str(1001 + n) for n in range(users)]
    with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        for first in range(0, len(ids), 500):  # the simulator's request-line limit
            reply = client.get(
                f"{api_url}/organizations/1/workspaces/1/capacities/users",
                params={
                    "user_id": ",".join(ids[first : first + 500]),
                    "start_date": today,
                    "end_date": end,
                },
            )
            reply.raise_for_status()
            body = reply.json()
            items += body["items"] if isinstance(body, dict) else body
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PlainCollector(items))
    start_http_server(port, addr="127.0.0.1", registry=registry)
    print("ready", flush=True)
    sys.stdin.read()
    return 0


# --- the comparison ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """A child process with piped stdin/stdout, stopped on exit."""
    child = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        yield child
    finally:
        if child.stdin:
            child.stdin.close()
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    """Return once something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout:.0f} s")


def wait_for_body(url: str, needle: str, timeout: float = 300.0) -> str:
    """The body at ``url`` once it contains ``needle``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            body = httpx.get(url, timeout=60).text
            if needle in body:
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"no {needle!r} at {url} within {timeout:.0f} s")


def capacity_samples(body: str) -> set[Sample]:
    """The capacity samples of an exposition, label order and HELP text aside."""
    samples: set[Sample] = set()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name.startswith("toggl_focus_capacity_"):
                samples.add((sample.name, tuple(sorted(sample.labels.items())), sample.value))
    return samples


def curl_times(url: str, count: int) -> list[float]:
    """``time_total`` of ``count`` plain scrapes by curl, in seconds."""
    curl = shutil.which("curl")
    if curl is None:
        raise SystemExit("curl is needed for the independent timing")
    times = []
    for _ in range(count):
        out = subprocess.run(
            [curl, "-s", "-o", "/dev/null", "-w", "%{time_total}", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        times.append(float(out))
    return times


def compare(users: int, scrapes: int) -> dict[str, object]:
    """Start the three processes, check the samples, time both servers round-robin."""
    sim_port, ours_port, plain_port = free_port(), free_port(), free_port()
    api_url = f"http://127.0.0.1:{sim_port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    env.update(
        TOGGL_FOCUS_API_URL=api_url,
        TOGGL_FOCUS_API_TOKEN=TOKEN,
        TOGGL_FOCUS_ORGANIZATION_ID="1",
        TOGGL_FOCUS_WORKSPACE_ID="1",
        TOGGL_FOCUS_USER_IDS=",".join(str(1001 + n) for n in range(users)),
        TOGGL_FOCUS_HORIZON_DAYS=str(DAYS),
        TOGGL_FOCUS_LISTEN_ADDRESS=f"127.0.0.1:{ours_port}",
    )
    python = sys.executable
    with ExitStack() as stack:
        simulator = [python, "-m", "exporter.simulator", "--listen", f"127.0.0.1:{sim_port}"]
        sim_args = [*simulator, "--users", str(users), "--ghosts", "0"]
        stack.enter_context(process(sim_args))
        wait_for_port(sim_port)
        stack.enter_context(process([python, "-m", "exporter"], env))
        plain = [python, __file__, "--serve-plain", api_url, str(users), str(plain_port)]
        stack.enter_context(process(plain))
        ours_url = f"http://127.0.0.1:{ours_port}/metrics"
        plain_url = f"http://127.0.0.1:{plain_port}/metrics"
        ours = capacity_samples(wait_for_body(ours_url, "toggl_focus_capacity_working_seconds{"))
        theirs = capacity_samples(wait_for_body(plain_url, "toggl_focus_capacity_working_seconds{"))
        if ours != theirs:
            raise SystemExit(
                f"the servers disagree: {len(ours - theirs)} samples only in ours, "
                f"{len(theirs - ours)} only in the plain exporter"
            )
        timed: dict[str, list[float]] = {"ours": [], "plain": []}
        for _ in range(scrapes):  # round-robin, so noise hits both alike
            timed["ours"] += curl_times(ours_url, 1)
            timed["plain"] += curl_times(plain_url, 1)
    p50 = {name: statistics.median(values) for name, values in timed.items()}
    return {
        "users": users,
        "series": len(ours),
        "scrapes": scrapes,
        "ours_p50_ms": p50["ours"] * 1000,
        "plain_p50_ms": p50["plain"] * 1000,
        "ratio": p50["plain"] / p50["ours"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--users", type=int, default=596, help="596 users x 28 days x 6 gauges: 100,128 series")
    add("--scrapes", type=int, default=10, help="timed scrapes per server")
    add("--json", type=Path, help="also write the result as JSON")
    add("--serve-plain", nargs=3, metavar=("API_URL", "USERS", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_plain:
        api_url, users, port = args.serve_plain
        return serve_plain(api_url, int(users), int(port))
    result = compare(args.users, args.scrapes)
    print(
        f"{result['series']:,} identical capacity samples; curl time_total p50 over "
        f"{result['scrapes']} plain scrapes each: ours {result['ours_p50_ms']:.1f} ms, "
        f"plain prometheus_client exporter {result['plain_p50_ms']:.1f} ms: "
        f"ratio {result['ratio']:.0f}x"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
