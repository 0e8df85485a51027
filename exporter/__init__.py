"""Prometheus exporter for Toggl Focus capacity-planning data."""

__version__ = "0.1.0"
