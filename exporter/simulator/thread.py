"""Run a Simulator on its own event loop in a daemon thread (for synchronous tests)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from .options import SimulatorOptions
from .server import Simulator

T = TypeVar("T")


class SimulatorThread:
    """Context manager: ``with SimulatorThread(options) as sim: httpx.get(sim.base_url ...)``."""

    def __init__(
        self, options: SimulatorOptions | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulator = Simulator(options)
        self._host = host
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Simulator:
        """Start the loop thread and the server; returns the running simulator."""
        if self._loop is not None:
            raise RuntimeError("the simulator thread is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="focus-simulator", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self.run(self.simulator.start(self._host, self._port))
        except BaseException:
            self.stop()
            raise
        return self.simulator

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the simulator's loop and wait for its result."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the simulator thread is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def go_offline(self) -> None:
        """Stop listening: clients now get "connection refused" (the loop keeps running)."""
        self.run(self.simulator.stop())

    def go_online(self) -> None:
        """Listen again on the same host and port."""
        self.run(self.simulator.start(self.simulator.host, self.simulator.port))

    def stop(self) -> None:
        """Stop the server, the loop and the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if self.simulator.running:
                self.run(self.simulator.stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
