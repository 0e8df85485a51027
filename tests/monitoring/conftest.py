"""Fixtures of the monitoring bundle tests: the real Prometheus/Alertmanager binaries."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest

# Debian package that ships each program.
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "prometheus-alertmanager": "prometheus-alertmanager",
}


def find_binary(name: str) -> str:
    """Path of ``name``; skip when missing, but fail when ``CI=true`` (CI must run these tests)."""
    path = shutil.which(name)
    if path is not None:
        return path
    package = PACKAGES.get(name, name)
    reason = (
        f"{name} is not installed (Debian package {package!r}; scripts/test.sh installs it "
        "when run as root)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: required when CI=true")
    pytest.skip(reason)


@pytest.fixture
def binary() -> Callable[[str], str]:
    """``binary("promtool")`` -> its path, or skip/fail as :func:`find_binary` says."""
    return find_binary
