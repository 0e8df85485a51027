"""Shared fixtures: the simulator on loopback and the exporter as a real process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from support import ExporterProcess, start_exporter

from exporter.simulator import Simulator, SimulatorOptions, SimulatorThread


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A default simulator (6 users, 2 ghosts, token ``demo-token``) on 127.0.0.1."""
    with SimulatorThread(SimulatorOptions()) as sim:
        yield sim


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Factory for simulators with custom options; all stopped at teardown."""
    threads: list[SimulatorThread] = []

    def make(**options: object) -> Simulator:
        thread = SimulatorThread(SimulatorOptions(**options))  # type: ignore[arg-type]
        threads.append(thread)
        return thread.start()

    yield make
    for thread in threads:
        thread.stop()


@pytest.fixture
def exporters() -> Iterator[Callable[..., ExporterProcess]]:
    """Factory that starts exporter processes; all stopped (and logs shown) at teardown."""
    started: list[ExporterProcess] = []

    def start(*args: object, **kwargs: object) -> ExporterProcess:
        process = start_exporter(*args, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
