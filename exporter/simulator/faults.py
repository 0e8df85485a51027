"""Switchable fault modes of the simulator and the switch that arms them.

Connection refused is not a fault mode: stop the server (``Simulator.stop()``,
``SimulatorThread.go_offline()``) and start it again on the same port.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Fault(enum.StrEnum):
    """How the next API requests misbehave."""

    LATENCY = "latency"  # extra delay, then a normal reply
    HANG = "hang"  # no reply until the client gives up (or the server stops)
    STATUS = "status"  # any status code with the error body
    QUOTA_EXHAUSTED = "quota_exhausted"  # 402 with quota headers
    QUOTA_HEADERS_MISSING = "quota_headers_missing"  # 402 without quota headers
    QUOTA_HEADERS_MALFORMED = "quota_headers_malformed"  # 402 with non-numeric quota headers
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    INVALID_JSON = "invalid_json"  # 200, application/json, unparsable body
    WRONG_SHAPE = "wrong_shape"  # 200, valid JSON of an unexpected shape
    WRONG_CONTENT_TYPE = "wrong_content_type"  # 200, text/html
    TRUNCATED = "truncated"  # Content-Length larger than the body, then close
    RESET = "reset"  # connection reset in the middle of the body
    HUGE_BODY = "huge_body"  # a huge (or endless) stream of valid-looking JSON
    EMPTY = "empty"  # 200 with an empty body
    DUPLICATE_ENTITIES = "duplicate_entities"  # capacities: every entity twice
    UNKNOWN_ENTITIES = "unknown_entities"  # capacities: ids that were not requested
    BAD_NUMBERS = "bad_numbers"  # capacities: negative, "NaN", 1e308, fractional counts
    DATES_OUTSIDE_WINDOW = "dates_outside_window"  # capacities: dates before/after the range


# Parameters each fault accepts, with their defaults. Every fault also accepts "endpoint"
# (capacities|users|teams|ghosts|other) to hit only that endpoint.
FAULT_PARAMS: dict[Fault, dict[str, Any]] = {
    Fault.LATENCY: {"seconds": 1.0},
    Fault.HANG: {"seconds": 3600.0},
    Fault.STATUS: {"status": 500, "retry_after": None},
    Fault.QUOTA_EXHAUSTED: {"resets_in": 60},
    Fault.QUOTA_HEADERS_MISSING: {},
    Fault.QUOTA_HEADERS_MALFORMED: {"remaining": "plenty", "resets_in": "soon"},
    Fault.RATE_LIMITED: {"retry_after": 30},
    Fault.INVALID_JSON: {},
    Fault.WRONG_SHAPE: {"variant": "object"},  # object: {"foo": 1}; strings: ["a", "b"]
    Fault.WRONG_CONTENT_TYPE: {},
    Fault.TRUNCATED: {"missing": 1024},
    Fault.RESET: {},
    Fault.HUGE_BODY: {"size": 50_000_000, "content_length": False},  # size 0: endless
    Fault.EMPTY: {},
    Fault.DUPLICATE_ENTITIES: {},
    Fault.UNKNOWN_ENTITIES: {"ids": [999001, 999002]},
    Fault.BAD_NUMBERS: {},
    Fault.DATES_OUTSIDE_WINDOW: {"days": 1},
}
# Faults that change the data of a capacities reply; they only ever hit that endpoint.
DATA_FAULTS = frozenset(
    {
        Fault.DUPLICATE_ENTITIES,
        Fault.UNKNOWN_ENTITIES,
        Fault.BAD_NUMBERS,
        Fault.DATES_OUTSIDE_WINDOW,
    }
)
ENDPOINTS = ("capacities", "users", "teams", "ghosts", "other")


@dataclass(frozen=True)
class ArmedFault:
    """A fault with its parameters (defaults filled in)."""

    fault: Fault
    params: Mapping[str, Any] = field(default_factory=dict)
    endpoint: str | None = None

    def applies_to(self, endpoint: str) -> bool:
        """Whether a request to this endpoint triggers the fault."""
        if self.fault in DATA_FAULTS:
            return endpoint == "capacities"
        return self.endpoint is None or self.endpoint == endpoint


def arm(fault: Fault | str, params: Mapping[str, Any]) -> ArmedFault:
    """Validate the parameters of a fault and fill in the defaults."""
    fault = Fault(fault)
    defaults = FAULT_PARAMS[fault]
    given = dict(params)
    endpoint = given.pop("endpoint", None)
    if endpoint is not None and endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"fault {fault.value} takes no parameter {', '.join(unknown)}")
    checked = {name: _like(defaults[name], value, name) for name, value in given.items()}
    return ArmedFault(fault, {**defaults, **checked}, endpoint)


def _like(default: Any, value: Any, name: str) -> Any:
    """A parameter value converted to the type of its default (ValueError if impossible)."""
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError(value)
            return value
        if isinstance(default, int | float):
            return type(default)(value)
        if isinstance(default, list):
            return [int(item) for item in value]
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name} must be like {default!r}, not {value!r}") from None
    return value


class FaultSwitch:
    """The armed fault and how many more requests it applies to (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: ArmedFault | None = None
        self._remaining: int | None = None

    def set(self, armed: ArmedFault | None, count: int | None = None) -> None:
        """Arm a fault for the next count matching requests (None: until cleared)."""
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._armed = armed
            self._remaining = count if armed is not None else None

    def take(self, endpoint: str) -> ArmedFault | None:
        """The fault that applies to this request, if any; counts it down."""
        with self._lock:
            armed = self._armed
            if armed is None or not armed.applies_to(endpoint):
                return None
            if self._remaining is not None:
                self._remaining -= 1
                if self._remaining <= 0:
                    self._armed = None
                    self._remaining = None
            return armed

    @property
    def armed(self) -> ArmedFault | None:
        """The currently armed fault."""
        return self._armed
