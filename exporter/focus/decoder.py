"""Decoding replies: JSON to parsed capacities, off the event loop.

Decoding a multi-megabyte reply is one C call that holds the GIL whatever thread runs it;
orjson keeps that call short (about 5 ms per MB here), and the tolerant stdlib parser
remains the fallback. See docs/performance.md for the measurements.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import orjson

from .errors import BadReply
from .models import CapacityReply, InvalidReply, parse_capacities
from .window import period_start


def decode_json(body: bytes) -> object:
    """Decode a reply: orjson first (several times faster than ``json``), the tolerant
    stdlib parser where orjson refuses (``NaN`` literals, integers beyond 64 bits)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BadReply(f"invalid JSON: {exc}") from None


def decode_capacities(body: bytes, unit: str) -> CapacityReply:
    """Parse a capacities body; dates become the first day of their ``unit`` period."""
    try:
        return parse_capacities(decode_json(body), lambda day: period_start(day, unit))
    except InvalidReply as exc:
        raise BadReply(f"capacities: {exc}") from None


class ReplyDecoder:
    """Decodes capacities replies in one worker thread, one at a time (parallel decoders
    would only contend with the event loop for the GIL)."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="focus-decode")

    async def capacities(self, body: bytes, unit: str) -> CapacityReply:
        """Decode and parse one capacities reply."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, decode_capacities, body, unit)

    async def aclose(self) -> None:
        """Stop the worker thread."""
        self._thread.shutdown(wait=False, cancel_futures=True)
