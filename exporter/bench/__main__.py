"""``python -m exporter.bench``: run the benchmark and print its tables.

Full run (a few minutes): ``python -m exporter.bench``. CI: ``--sizes 1000 --quick``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .floor import find_nginx
from .measure import (
    Effort,
    HealthResult,
    SizeResult,
    SoakResult,
    measure_healthz,
    measure_size,
    measure_soak,
)
from .report import (
    common_text,
    health_text,
    machine,
    refresh_table,
    scrape_table,
    soak_text,
    targets_table,
)
from .setup import Case

DEFAULT_SIZES = "1000,10000,100000,300000"


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("expected comma-separated integers") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("expected positive sizes")
    return sizes


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m exporter.bench", description=__doc__)
    add = p.add_argument
    add("--sizes", type=_sizes, default=_sizes(DEFAULT_SIZES), help="series counts")
    add("--quick", action="store_true", help="few samples, small extra cases (CI)")
    add("--days", type=int, default=28, help="window length in days")
    add("--scrapes", type=int, help="timed scrapes per server and encoding (default 100)")
    add("--refreshes", type=int, help="measured refreshes per size (default 3)")
    add("--common-seconds", type=float, help="time budget of the common pattern per size")
    add("--soak-refreshes", type=int, help="refreshes of the RSS soak (default 1000, 0: skip)")
    add("--soak-series", type=int, default=1000, help="series of the RSS soak")
    add("--health-entities", type=int, help="entities of the healthz case (default 5000, 0: skip)")
    add("--health-latency", type=float, default=0.05, help="upstream latency of that case, s")
    add("--no-nginx", action="store_true", help="skip the static-file floor")
    add("--json", type=Path, metavar="FILE", help="also write the raw results as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run every requested measurement; print Markdown tables."""
    args = parser().parse_args(argv)
    quick = args.quick
    nginx = None if args.no_nginx else find_nginx()
    effort = Effort(
        scrapes=args.scrapes or (10 if quick else 100),
        refreshes=args.refreshes or (1 if quick else 3),
        common_seconds=args.common_seconds or (2.0 if quick else 20.0),
        nginx=nginx,
    )
    soak_refreshes = (
        args.soak_refreshes if args.soak_refreshes is not None else (30 if quick else 1000)
    )
    health_entities = (
        args.health_entities if args.health_entities is not None else (200 if quick else 5000)
    )
    started = time.monotonic()
    print(f"# exporter benchmark\n\nMachine: {machine()}", flush=True)
    if nginx is None:
        print("nginx not found: the static-file floor is skipped", flush=True)
    results: list[SizeResult] = []
    health: HealthResult | None = None
    soak: SoakResult | None = None
    raw: dict[str, object] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="exporter-bench-") as tmp:
        workdir = Path(tmp)
        for size in args.sizes:
            print(f"\nmeasuring {size:,} series ...", file=sys.stderr, flush=True)
            results.append(measure_size(size, args.days, effort, workdir))
        print("\n## Exposition and refresh\n\n" + refresh_table(results), flush=True)
        print("\n## Scrape latency, ms (p50 / p99)\n\n" + scrape_table(results), flush=True)
        print("\n" + common_text(results), flush=True)
        raw["sizes"] = [asdict(r) for r in results]
        if health_entities:
            print("\nmeasuring /healthz during a refresh ...", file=sys.stderr, flush=True)
            case = Case(health_entities, args.days, args.health_latency)
            health = measure_healthz(case, workdir)
            print("\n## During a refresh\n\n" + health_text(health), flush=True)
            raw["health"] = asdict(health)
        if soak_refreshes:
            print("\nmeasuring RSS over refreshes ...", file=sys.stderr, flush=True)
            soak_case = Case.for_series(args.soak_series, args.days)
            soak = measure_soak(soak_case, soak_refreshes, workdir)
            print("\n## Memory over refreshes\n\n" + soak_text(soak), flush=True)
            raw["soak"] = asdict(soak)
    print("\n## Targets\n\n" + targets_table(results, health, soak), flush=True)
    elapsed = time.monotonic() - started
    print(f"\nTotal benchmark time: {elapsed:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
