"""What the exporter asks the capacities endpoint for, independent of settings objects."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CapacityQuery:
    """The optional capacities parameters and how to encode lists."""

    unit: str = "day"
    private: bool | None = None
    task_sources: tuple[str, ...] = ()
    include_drafts: bool | None = None
    array_format: str = "csv"
    max_url_length: int = 4000
