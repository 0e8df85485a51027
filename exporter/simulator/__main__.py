"""python -m exporter.simulator: serve the Focus API double until SIGINT/SIGTERM.

Prints the base URL (first line of stdout), e.g. ``http://127.0.0.1:8099/api``.
Credentials may also come from SIMULATOR_TOKEN, SIMULATOR_EMAIL and SIMULATOR_PASSWORD, so
that they need not appear in the process arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import signal
import sys

from .options import SimulatorOptions
from .server import Simulator


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:8099")
    return host.strip("[]"), int(port)


def _optional(text: str) -> str | None:
    """An empty string disables the credential."""
    return text or None


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    defaults = SimulatorOptions()
    p = argparse.ArgumentParser(
        prog="python -m exporter.simulator", description="Simulated Toggl Focus API."
    )
    add = p.add_argument
    add("--listen", type=_listen, default=("127.0.0.1", 8099), help="HOST:PORT (port 0: any)")
    add("--organization-id", type=int, default=defaults.organization_id)
    add("--workspace-id", type=int, default=defaults.workspace_id)
    add("--users", type=int, default=defaults.users, help="synthetic users 1001, 1002, ...")
    add("--ghosts", type=int, default=defaults.ghosts, help="synthetic ghosts 5001, 5002, ...")
    add("--overbooked-users", type=int, default=defaults.overbooked_users)
    add("--overbooked-ghosts", type=int, default=defaults.overbooked_ghosts)
    add("--shape", choices=("items", "array"), default=defaults.response_shape)
    add("--fields", choices=("seed", "spec", "all"), default=defaults.fields)
    add("--token", type=_optional, default=os.environ.get("SIMULATOR_TOKEN", defaults.token))
    add("--email", type=_optional, default=os.environ.get("SIMULATOR_EMAIL", defaults.email))
    add(
        "--password",
        type=_optional,
        default=os.environ.get("SIMULATOR_PASSWORD", defaults.password),
    )
    add("--quota", type=int, default=None, help="requests per window (default: unlimited)")
    add("--quota-window", type=float, default=defaults.quota_window_seconds, help="seconds")
    add("--latency", type=float, default=defaults.latency_seconds, help="seconds per reply")
    add("--csv-only", action="store_true", help="reject repeated ids (only the first counts)")
    add("--seed", type=int, default=defaults.seed)
    add("--timezone", default=defaults.timezone)
    add("--keep-past", action="store_true", help="do not zero dates before today")
    add("--today", type=datetime.date.fromisoformat, default=None, help="fixed YYYY-MM-DD")
    add("--no-extra-fields", action="store_true", help="omit the unknown extra fields")
    return p


def options_from(args: argparse.Namespace) -> SimulatorOptions:
    """Simulator options from parsed arguments."""
    return SimulatorOptions(
        organization_id=args.organization_id,
        workspace_id=args.workspace_id,
        users=args.users,
        ghosts=args.ghosts,
        overbooked_users=args.overbooked_users,
        overbooked_ghosts=args.overbooked_ghosts,
        response_shape=args.shape,
        fields=args.fields,
        token=args.token,
        email=args.email,
        password=args.password,
        hourly_quota=args.quota,
        quota_window_seconds=args.quota_window,
        latency_seconds=args.latency,
        accept_repeated_ids=not args.csv_only,
        seed=args.seed,
        timezone=args.timezone,
        zero_past=not args.keep_past,
        today=args.today,
        extra_fields=not args.no_extra_fields,
    )


async def serve(options: SimulatorOptions, host: str, port: int) -> None:
    """Run the simulator until SIGINT or SIGTERM."""
    simulator = Simulator(options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    url = await simulator.start(host, port)
    print(url, flush=True)
    print(f"control endpoint: {url.removesuffix('/api')}/_simulator", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await simulator.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    host, port = args.listen
    asyncio.run(serve(options_from(args), host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
