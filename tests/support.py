"""Helpers shared by the tests: free ports, polling, and the exporter as a real process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    check: Callable[[], T | None],
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll ``check`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception as exc:
            last_error = exc
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {last_error!r}")


def base_env(api_url: str, **extra: object) -> dict[str, str]:
    """Environment for an exporter pointed at a simulator (token ``demo-token``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOGGL_FOCUS_")}
    env.update(
        TOGGL_FOCUS_API_URL=api_url,
        TOGGL_FOCUS_API_TOKEN="demo-token",
        TOGGL_FOCUS_ORGANIZATION_ID="1",
        TOGGL_FOCUS_WORKSPACE_ID="1",
        TOGGL_FOCUS_LOG_LEVEL="debug",
    )
    env.update({f"TOGGL_FOCUS_{k.upper()}": str(v) for k, v in extra.items()})
    return env


@dataclass
class ExporterProcess:
    """A running ``python -m exporter`` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    scheme: str = "http"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def metrics(self) -> str:
        response = self.get("/metrics")
        response.raise_for_status()
        return response.text

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m exporter ARGS`` to completion with exactly ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        env=dict(env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def port_open(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_exporter(
    env: Mapping[str, str],
    args: tuple[str, ...] = (),
    ready_path: str | None = "/healthz",
    scheme: str = "http",
    timeout: float = 20.0,
) -> ExporterProcess:
    """Start the exporter on a free port and wait until it is up.

    Up means ``ready_path`` answers below 500, or, with ``ready_path=None`` (TLS or basic
    auth in front), that the process logged "listening on" and accepts connections.
    """
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the process owner
        prefix="exporter-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "exporter", "--listen-address", f"127.0.0.1:{port}", *args],
        env=dict(env),
        cwd=REPO,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    process = ExporterProcess(proc, port, Path(log_file.name), scheme)

    def answering() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"exporter exited {proc.returncode}:\n{process.logs()}")
        if ready_path is None:
            return "listening on" in process.logs() and port_open(port)
        try:
            return httpx.get(process.url + ready_path, timeout=2, verify=False).status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_for(answering, timeout, what="exporter to answer")
    except BaseException:
        process.stop()
        raise
    return process


class InProcessExporter:
    """The exporter's real HTTP server and refresh loop on a background event loop.

    Used where a test must control the clock (golden files, midnight); everything else
    runs the exporter as a subprocess.
    """

    def __init__(self, settings: object, clock: Callable[[], float] | None = None) -> None:
        import asyncio
        import threading

        from exporter.app import Exporter

        self._asyncio = asyncio
        self.exporter = Exporter(settings, **({"clock": clock} if clock else {}))  # type: ignore[arg-type]
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        asyncio = self._asyncio

        async def run() -> None:
            self._stop = asyncio.Event()
            started = asyncio.Event()
            task = asyncio.create_task(self.exporter.run(self._stop, started))
            await started.wait()
            self._started.set()
            await task

        try:
            self._loop.run_until_complete(run())
        except BaseException as exc:
            self.error = exc
            self._started.set()

    def __enter__(self) -> InProcessExporter:
        self._thread.start()
        self._started.wait(20)
        if self.error:
            raise self.error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.exporter.port}"

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def require_binary(name: str, package: str | None = None) -> str:
    """Path of program ``name``; skip the test when it is missing, but fail when
    ``CI=true`` (CI installs every tool, so a missing one is a broken setup)."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} is not installed (Debian package {package or name!r}; scripts/test.sh "
    reason += "installs it when run as root)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required when CI=true")
    pytest.skip(reason)
