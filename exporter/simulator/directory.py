"""Names and the organization users, teams and ghosts listings of the simulated workspace."""

from __future__ import annotations

import uuid

_FIRST = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken")
_LAST = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson")
_ROLES = ("Backend developer", "Designer", "QA engineer", "Data analyst", "Project manager")
_TEAM_SIZE = 4
_STAMP = "2024-01-15T09:00:00Z"  # fixed, so that listings are deterministic
_NAMESPACE = uuid.UUID("6f1c2d9e-4b7a-4c1e-9a51-3d2b8e0f7a10")


def user_name(user_id: int, first_id: int) -> str:
    """A deterministic, unique person name (with the id appended beyond the 64 built in)."""
    index = user_id - first_id
    size = len(_FIRST) * len(_LAST)
    slot = index % size
    name = f"{_FIRST[slot % len(_FIRST)]} {_LAST[(slot // len(_FIRST) + slot) % len(_LAST)]}"
    return name if 0 <= index < size else f"{name} {user_id}"


def ghost_name(ghost_id: int, first_id: int) -> str:
    """A deterministic placeholder name such as "Designer (placeholder 2)"."""
    index = ghost_id - first_id
    return f"{_ROLES[index % len(_ROLES)]} (placeholder {index + 1})"


def organization_user_id(user_account_id: int) -> int:
    """The organization-user id that goes with an account id."""
    return 20_000_000 + user_account_id


def user_record(
    organization_id: int, workspace_id: int, user_account_id: int, name: str, daily_minutes: int
) -> dict[str, object]:
    """One entry of GET /organizations/{org}/users."""
    org_user_id = organization_user_id(user_account_id)
    return {
        "id": org_user_id,
        "user_account_id": user_account_id,
        "user_id": str(uuid.uuid5(_NAMESPACE, f"user-{user_account_id}")),
        "name": name,
        "email": name.lower().replace(" ", ".") + "@example.com",
        "active": True,
        "admin": False,
        "owner": False,
        "2fa_enabled": False,
        "account_locked_at": "",
        "can_edit_personal_details": True,
        "created_at": _STAMP,
        "updated_at": _STAMP,
        "deleted_at": "",
        "invite_sent": False,
        "joined": True,
        "organization_id": organization_id,
        "permissions": {},
        "groups": [],
        "tags": [],
        "rate": None,
        "working_hours": daily_minutes / 60,
        "workspaces": [
            {
                "id": workspace_id,
                "name": "Demo workspace",
                "workspace_user_id": 30_000_000 + user_account_id,
                "focus_role_id": 2,
                "track_role_id": 1,
                "work_role_id": 3,
                "toggl_products": ["focus"],
                "groups": [],
            }
        ],
    }


def team_records(
    organization_id: int, workspace_id: int, members: list[tuple[int, str]]
) -> list[dict[str, object]]:
    """Teams of up to four users each, for GET /organizations/{org}/teams."""
    teams: list[dict[str, object]] = []
    for start in range(0, len(members), _TEAM_SIZE):
        number = start // _TEAM_SIZE + 1
        chunk = members[start : start + _TEAM_SIZE]
        teams.append(
            {
                "id": 40_000_000 + number,
                "name": f"Team {number}",
                "emoji": "",
                "organization_id": organization_id,
                "created_at": _STAMP,
                "updated_at": _STAMP,
                "deleted_at": "",
                "users": [
                    {
                        "user_account_id": account_id,
                        "organization_user_id": organization_user_id(account_id),
                        "user_group_id": 50_000_000 + account_id,
                        "display_name": name,
                        "focus_role_id": 2,
                        "track_role_id": 1,
                        "work_role_id": 3,
                        "created_at": _STAMP,
                        "updated_at": _STAMP,
                        "deleted_at": "",
                    }
                    for account_id, name in chunk
                ],
                "workspaces": [
                    {
                        "workspace_id": workspace_id,
                        "workspace_group_id": 60_000_000 + number,
                        "name": "Demo workspace",
                        "focus_role_id": 17,
                        "products": ["focus"],
                        "created_at": _STAMP,
                        "updated_at": _STAMP,
                        "deleted_at": "",
                    }
                ],
            }
        )
    return teams


def ghost_record(workspace_id: int, ghost_id: int, name: str) -> dict[str, object]:
    """One entry of GET /organizations/{org}/workspaces/{ws}/ghosts (never embodied here)."""
    return {
        "id": ghost_id,
        "name": name,
        "workspace_id": workspace_id,
        "user_id": None,
        "embodied_at": None,
        "created_at": _STAMP,
    }


def envelope(items: list[dict[str, object]], page: int, per_page: int) -> dict[str, object]:
    """The {"data", "page", "rows", "total"} envelope of one page."""
    return {
        "data": page_of(items, page, per_page),
        "page": page,
        "rows": per_page,
        "total": len(items),
    }


def page_of(items: list[dict[str, object]], page: int, per_page: int) -> list[dict[str, object]]:
    """Items of one page (pages count from 1)."""
    return items[(page - 1) * per_page : page * per_page]
