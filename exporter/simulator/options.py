"""Settings of the Focus API simulator."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

FIRST_USER_ID = 1001
FIRST_GHOST_ID = 5001


@dataclass
class SimulatorOptions:
    """What the simulated organization looks like and how the simulated API behaves."""

    organization_id: int = 1
    workspace_id: int = 1
    users: int = 6  # synthetic users 1001, 1002, ... (user_account_id values)
    ghosts: int = 2  # synthetic ghosts 5001, 5002, ...
    response_shape: Literal["items", "array"] = "items"  # seed {"items": [...]} or bare array
    # seed: allocated_minutes; spec: estimated_remaining_minutes + time_off_minutes; all: both
    fields: Literal["seed", "spec", "all"] = "all"
    # The simulator's own fixed demo credentials, not secrets.
    token: str | None = "demo-token"  # noqa: S105  # accepted Bearer token (None: disabled)
    email: str | None = "demo@example.com"  # accepted basic-auth pair (None: basic disabled)
    password: str | None = "demo-password"  # noqa: S105
    hourly_quota: int | None = None  # sliding window; None: unlimited (headers still sent)
    quota_window_seconds: float = 3600.0  # length of the sliding quota window
    latency_seconds: float = 0.0  # added to every API reply
    accept_repeated_ids: bool = True  # user_id=1&user_id=2 (csv is always accepted)
    overbooked_users: int = 2  # users 1001.. that are overbooked on most weekdays
    overbooked_ghosts: int = 1  # ghosts 5001.. likewise
    seed: int = 42
    timezone: str = "UTC"  # defines "today" for the past-date rule
    zero_past: bool = True  # dates before today reply zeros, as the real API does
    today: datetime.date | None = None  # fixed "today" for the past-date rule (None: clock)
    extra_fields: bool = True  # add unknown fields that clients must ignore
    max_request_line: int = 8190  # longer request lines are rejected with 400

    def user_ids(self) -> list[int]:
        """Ids of the synthetic users."""
        return list(range(FIRST_USER_ID, FIRST_USER_ID + self.users))

    def ghost_ids(self) -> list[int]:
        """Ids of the synthetic ghosts."""
        return list(range(FIRST_GHOST_ID, FIRST_GHOST_ID + self.ghosts))
