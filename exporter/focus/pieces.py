"""Splitting a capacities body into pieces that decode separately.

Decoding a reply is one C call that holds the GIL from start to end: 20-30 ms for the
4 MB replies of a 5,000-entity refresh, during which the event loop answers nobody.
Decoded as pieces of about :data:`PIECE_BYTES`, each hold stays near a millisecond.

The split is a guess that decoding proves. The items array is cut before each item that
starts like the first one (``,{"id":`` for instance) once a piece is long enough. If every
piece then decodes as a JSON array, every cut was between two items of the array (a cut
inside a string or a nested value leaves a piece that does not decode), so the pieces'
items are exactly the body's items. If any piece fails, the caller decodes the body whole.
"""

from __future__ import annotations

import re

#: Target size of one piece; orjson decodes ~256 KB of capacities in about 1.5 ms here.
PIECE_BYTES = 256 * 1024
_WHITESPACE = b" \t\r\n"
#: The start of the items array: a bare array, or an object whose only key is "items".
_ITEMS_START = re.compile(rb'[ \t\r\n]*(\{[ \t\r\n]*"items"[ \t\r\n]*:[ \t\r\n]*)?\[[ \t\r\n]*')
#: An object item's opening up to its first key: the pattern every item is cut before.
_FIRST_KEY = re.compile(rb'\{[ \t\r\n]*"[^"\\]{1,64}"[ \t\r\n]*:')


def _end_of(body: bytes, expected: bytes) -> int | None:
    """Index of the closing characters ``expected`` (read backwards, whitespace skipped)."""
    end = len(body)
    for char in reversed(expected):
        while end and body[end - 1] in _WHITESPACE:
            end -= 1
        if not end or body[end - 1] != char:
            return None
        end -= 1
    return end


def item_spans(body: bytes, piece_bytes: int = PIECE_BYTES) -> list[tuple[int, int]] | None:
    """``(start, end)`` offsets of comma-separated runs of items, about ``piece_bytes``
    each, whose union is the whole items array; ``None`` when the body is not a non-empty
    array of objects (or ``{"items": [...]}``) or is too small to be worth splitting."""
    if len(body) <= piece_bytes:
        return None
    opening = _ITEMS_START.match(body)
    if opening is None:
        return None
    end = _end_of(body, b"]}" if opening.group(1) else b"]")
    first = _FIRST_KEY.match(body, opening.end())
    if end is None or first is None or end <= first.end():
        return None
    cut = re.compile(rb",[ \t\r\n]*" + re.escape(first.group()))
    spans: list[tuple[int, int]] = []
    start = opening.end()
    while (found := cut.search(body, start + piece_bytes, end)) is not None:
        spans.append((start, found.start()))
        start = found.start() + 1
    spans.append((start, end))
    return spans
