"""The landing page at ``/``: what runs, its state, and links. Escapes every value."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

LINKS = (("/metrics", "Metrics"), ("/healthz", "Health"), ("/readyz", "Readiness"))


def landing_page(title: str, facts: Sequence[tuple[str, str]]) -> bytes:
    """A small HTML page listing ``facts`` (label, value) and the endpoints."""
    rows = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in facts
    )
    links = "".join(f'<li><a href="{href}">{escape(text)}</a></li>' for href, text in LINKS)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        "</style></head><body>"
        f"<h1>{escape(title)}</h1><table>{rows}</table><ul>{links}</ul>"
        "</body></html>\n"
    ).encode()
