"""Decoding replies: JSON to parsed capacities, off the event loop.

Decoding JSON is one C call that holds the GIL whatever thread runs it. orjson keeps that
call short (about 5 ms per MB here) and large capacities bodies are decoded in pieces of
about 256 KB (:mod:`.pieces`), so the event loop never waits long for the GIL; the
tolerant stdlib parser remains the fallback. See docs/performance.md for measurements.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import orjson

from .errors import BadReply
from .models import CapacityParser, CapacityReply, InvalidReply, parse_capacities
from .pieces import PIECE_BYTES, item_spans
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


def _decode_in_pieces(
    body: bytes, spans: list[tuple[int, int]], normalise: Callable[[date], date]
) -> CapacityReply:
    """Decode and parse the items array piece by piece (``orjson.JSONDecodeError`` when a
    piece is not a JSON array: the split guessed wrong)."""
    parser = CapacityParser(normalise)
    with memoryview(body) as view:
        for start, end in spans:
            parser.feed(orjson.loads(b"".join((b"[", view[start:end], b"]"))))
    return parser.finish()


def decode_capacities(body: bytes, unit: str, piece_bytes: int = PIECE_BYTES) -> CapacityReply:
    """Parse a capacities body; dates become the first day of their ``unit`` period.
    Bodies larger than ``piece_bytes`` are decoded in pieces of about that size."""

    def normalise(day: date) -> date:
        return period_start(day, unit)

    try:
        spans = item_spans(body, piece_bytes)
        if spans is not None:
            try:
                return _decode_in_pieces(body, spans, normalise)
            except orjson.JSONDecodeError:
                pass  # not cut between items after all: decode it whole
        return parse_capacities(decode_json(body), normalise)
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
