"""Fixtures of the monitoring bundle tests: the real Prometheus/Alertmanager binaries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support import require_binary

# Debian package that ships each program.
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


def find_binary(name: str) -> str:
    """Path of ``name``; skip when missing, but fail when ``CI=true`` (CI must run these tests)."""
    return require_binary(name, PACKAGES.get(name, name))


@pytest.fixture
def binary() -> Callable[[str], str]:
    """``binary("promtool")`` -> its path, or skip/fail as :func:`find_binary` says."""
    return find_binary
