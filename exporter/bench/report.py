"""The benchmark's tables (Markdown, so that a run can be pasted into the docs)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from pathlib import Path

from .measure import HealthResult, SizeResult, SoakResult
from .scrape import Latency

MB = 1e6
MIB = 1024 * 1024


def machine() -> str:
    """CPU count and model, memory, Python and kernel: where the numbers came from."""
    model = "unknown CPU"
    memory = "unknown memory"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPU(s) ({model}), {memory}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds < 1 else f"{seconds * 1000:.0f}"


def _pair(latency: Latency | None) -> str:
    if latency is None:
        return "n/a"
    return f"{_ms(latency.p50)} / {_ms(latency.p99)}"


def _ratio(numerator: Latency | None, denominator: Latency | None) -> str:
    if numerator is None or denominator is None or denominator.p50 <= 0:
        return "n/a"
    return f"{numerator.p50 / denominator.p50:.1f}x"


def _table(header: Sequence[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def refresh_table(results: Sequence[SizeResult]) -> str:
    """Exposition size, refresh cost and memory per size."""
    header = [
        "series", "entities", "plain MB", "gzip MB", "refresh wall s", "gzip after s",
        "refresh CPU s", "event-loop thread CPU s", "render CPU s (plain)", "requests (planned)",
        "peak RSS MiB",
    ]  # fmt: skip
    rows = [
        [
            f"{r.refresh.series:,}",
            f"{r.case.entities:,}",
            f"{r.bytes_plain / MB:.2f}",
            f"{r.bytes_gzip / MB:.3f}",
            f"{r.refresh.wall:.3f}",
            f"+{r.refresh.gzip_lag:.3f}",
            f"{r.refresh.cpu:.3f}",
            f"{r.refresh.loop_cpu:.3f}",
            f"{r.refresh.render_cpu:.3f}",
            f"{r.refresh.requests} ({r.refresh.planned_requests})",
            f"{r.peak_rss / MIB:.0f}",
        ]
        for r in results
    ]
    return _table(header, rows)


def scrape_table(results: Sequence[SizeResult]) -> str:
    """Scrape latency p50 / p99 in ms, and the ratios."""
    header = [
        "series", "ours plain", "ours gzip", "nginx plain", "nginx gzip",
        "common plain (n)", "common / ours", "ours / nginx plain", "ours / nginx gzip",
    ]  # fmt: skip
    rows = []
    for r in results:
        common = _pair(r.common_plain)
        if r.common_plain is not None:
            common += f" ({r.common_plain.count})"
        rows.append(
            [
                f"{r.refresh.series:,}",
                _pair(r.ours_plain),
                _pair(r.ours_gzip),
                _pair(r.floor_plain),
                _pair(r.floor_gzip),
                common,
                _ratio(r.common_plain, r.ours_plain),
                _ratio(r.ours_plain, r.floor_plain),
                _ratio(r.ours_gzip, r.floor_gzip),
            ]
        )
    return _table(header, rows)


def health_text(result: HealthResult) -> str:
    """The healthz-during-refresh case."""
    c, r, h = result.case, result.refresh, result.healthz
    return (
        f"Refresh of {c.entities:,} entities x {c.days} days ({r.series:,} series), "
        f"{c.latency * 1000:.0f} ms upstream latency, concurrency {c.max_concurrency}: "
        f"wall {r.wall:.2f} s (gzip ready {r.gzip_lag:.2f} s later), CPU {r.cpu:.2f} s "
        f"(event-loop thread {r.loop_cpu:.2f} s), "
        f"{r.requests} requests (minimum for the URL-length limit: {result.minimum_requests}). "
        f"/healthz during it: {h.count} probes, p50 {_ms(h.p50)} ms, p99 {_ms(h.p99)} ms, "
        f"max {_ms(h.max)} ms."
    )


def soak_text(result: SoakResult) -> str:
    """The RSS soak."""
    samples = ", ".join(f"{index}: {rss / MIB:.1f}" for index, rss in result.samples)
    return (
        f"RSS over {result.refreshes:,} refreshes of {result.case.entities} entities "
        f"({result.seconds:.0f} s, {result.scrapes:,} scrapes meanwhile): baseline after "
        f"{result.refreshes // 10} refreshes {result.baseline / MIB:.1f} MiB, highest later "
        f"sample {result.growth * 100:+.1f}% above it. MiB after N refreshes: {samples}."
    )


def common_text(results: Sequence[SizeResult]) -> str:
    """Whether the common pattern served the same bytes, and its memory."""
    parts = [
        f"{r.refresh.series:,}: {'identical' if r.common_identical else 'DIFFERENT'} capacity "
        f"bytes, peak RSS {r.common_peak_rss / MIB:.0f} MiB"
        for r in results
    ]
    return "Common pattern (prometheus_client, generate_latest per scrape): " + "; ".join(parts)


def targets_table(
    results: Sequence[SizeResult], health: HealthResult | None, soak: SoakResult | None
) -> str:
    """The issue's targets next to what this run measured (at 100,000 series if measured)."""
    rows: list[list[str]] = []

    def add(target: str, measured: str, met: bool) -> None:
        rows.append([target, measured, "met" if met else "MISSED"])

    at = next((r for r in results if r.target == 100_000), None)
    if at is not None:
        if at.common_plain is not None:
            ratio = at.common_plain.p50 / at.ours_plain.p50
            add("plain p50 >= 100x lower than the common pattern", f"{ratio:.0f}x", ratio >= 100)
        if at.floor_plain is not None:
            ratio = at.ours_plain.p50 / at.floor_plain.p50
            add("plain p50 within 3x of nginx", f"{ratio:.1f}x", ratio <= 3)
        add("gzip p99 < 20 ms", f"{_ms(at.ours_gzip.p99)} ms", at.ours_gzip.p99 < 0.020)
        cpu = at.refresh.cpu
        add("CPU per refresh < 1 s", f"{cpu:.2f} s", cpu < 1)
        add("peak RSS < 150 MB", f"{at.peak_rss / MB:.0f} MB", at.peak_rss < 150 * MB)
    if soak is not None:
        add(
            f"RSS flat within 5% over {soak.refreshes:,} refreshes",
            f"{soak.growth * 100:+.1f}%",
            soak.growth <= 0.05,
        )
    if health is not None:
        r, h = health.refresh, health.healthz
        add(f"{health.case.entities:,}-entity refresh < 2 s", f"{r.wall:.2f} s", r.wall < 2)
        add(
            "requests = minimum for the URL-length limit",
            f"{r.requests} (minimum {health.minimum_requests})",
            r.requests == health.minimum_requests,
        )
        add(
            "/healthz within 50 ms during it (p99)",
            f"p99 {_ms(h.p99)} ms, max {_ms(h.max)} ms",
            h.p99 <= 0.050,
        )
    return _table(["target", "measured", ""], rows) if rows else "(no target measured)"
