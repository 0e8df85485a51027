"""A test double of the Toggl Focus API that speaks real HTTP on loopback.

Used by ``toggl-focus-exporter --demo``, the test-suite and the benchmark; see docs/simulator.md.
"""

from .faults import Fault
from .options import SimulatorOptions
from .records import RecordedRequest
from .server import Simulator
from .thread import SimulatorThread

__all__ = ["Fault", "RecordedRequest", "Simulator", "SimulatorOptions", "SimulatorThread"]
