"""Command line: flags, ``--check-config``, ``--demo``; builds the settings and runs."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__
from .app import Exporter, install_signal_handlers, run_event_loop
from .config import BearerToken, ConfigError, Settings, load_settings, unknown_environment_names
from .logs import setup_logging
from .plan import make_plan
from .webconfig import load_web_config

log = logging.getLogger("exporter")

EXIT_CONFIG = 2


def parser() -> argparse.ArgumentParser:
    """The command-line interface (secrets are never accepted as flags)."""
    p = argparse.ArgumentParser(
        prog="toggl-focus-exporter",
        description="Prometheus exporter for Toggl Focus capacities. Settings come from "
        "TOGGL_FOCUS_* environment variables and the optional --config YAML file.",
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="YAML file with settings")
    p.add_argument(
        "--listen-address",
        metavar="HOST:PORT",
        help="address to serve on (TOGGL_FOCUS_LISTEN_ADDRESS, default 0.0.0.0:10019)",
    )
    p.add_argument(
        "--web.config.file",
        dest="web_config_file",
        type=Path,
        metavar="FILE",
        help="exporter-toolkit web config (TLS, basic auth)",
    )
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.add_argument(
        "--check-config",
        action="store_true",
        help="validate, print the effective plan and exit (2 when invalid)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="run against the built-in Focus API simulator (no account needed)",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "listen_address": args.listen_address,
        "web_config_file": args.web_config_file,
        "log_level": args.log_level,
    }


def check_config(settings: Settings) -> str:
    """The human-readable effective configuration; secrets masked."""
    plan = make_plan(settings, time.time(), settings.user_ids, settings.ghost_ids)
    creds = settings.credentials
    auth = (
        "bearer token ********"
        if isinstance(creds, BearerToken)
        else "basic auth (e-mail ********, password ********)"
    )
    lines = [
        "configuration OK",
        f"api_url: {settings.api_url}",
        f"authentication: {auth}",
        f"organization_id: {settings.organization_id}, workspace_id: {settings.workspace_id}",
        f"users: {', '.join(map(str, settings.user_ids)) or 'none'}",
        f"ghosts: {', '.join(map(str, settings.ghost_ids)) or 'none'}",
        f"discovery: {'on' if settings.discover else 'off'}",
        f"window: {plan.first} .. {plan.last} ({settings.horizon_days} days, unit "
        f"{settings.unit}, time zone {settings.timezone})",
        f"requests per refresh: {plan.requests}",
        f"effective refresh interval: {plan.interval:g} s (configured "
        f"{settings.refresh_interval:g} s, budget {settings.request_budget} requests/hour)",
        f"max staleness: {settings.max_staleness or 3 * plan.interval:g} s",
        f"listen_address: {settings.listen_address}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and ``python -m exporter``."""
    args, unknown = parser().parse_known_args(argv)
    if unknown:  # named without values: a mistyped flag may carry a secret
        names = ", ".join(a.split("=", 1)[0] for a in unknown if a.startswith("-")) or "values"
        print(f"toggl-focus-exporter: error: unrecognized arguments: {names}", file=sys.stderr)
        return EXIT_CONFIG
    if args.demo:
        run_event_loop(_run_demo(args))
        return 0
    try:
        settings = load_settings(args.config, **_overrides(args))
        web = load_web_config(settings.web_config_file) if settings.web_config_file else None
        if args.check_config:
            print(check_config(settings))
            if web is not None:
                print(f"web config: {web.describe()}")
            return 0
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    run_event_loop(_run(settings))
    return 0


async def _run(settings: Settings) -> None:
    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    for name in unknown_environment_names():
        log.warning("unknown environment variable %s ignored (typo?)", name)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await Exporter(settings).run(stop)


async def _run_demo(args: argparse.Namespace) -> None:
    from .simulator import Simulator, SimulatorOptions

    options = SimulatorOptions()
    simulator = Simulator(options)
    base_url = await simulator.start("127.0.0.1", 0)
    try:
        settings = load_settings(
            args.config,
            api_url=base_url,
            api_token=options.token,
            organization_id=options.organization_id,
            workspace_id=options.workspace_id,
            discover=True,
            discovery_interval=600,
            refresh_interval=15,
            request_budget=3600,
            **_overrides(args),
        )
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"configuration error: {problem}", file=sys.stderr)
        await simulator.stop()
        raise SystemExit(EXIT_CONFIG) from None
    setup_logging(settings.log_level, settings.log_format, settings.secret_values())
    log.info("demo mode: Focus API simulator at %s", base_url)
    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        await Exporter(settings).run(stop)
    finally:
        await simulator.stop()
