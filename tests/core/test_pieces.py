"""Large capacities replies are decoded in pieces, with exactly the result of decoding them
whole, and anything that is not cut cleanly between items falls back to the whole body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.focus.decoder import BadReply, decode_capacities
from exporter.focus.models import CapacityReply
from exporter.focus.pieces import PIECE_BYTES, item_spans
from exporter.simulator import SimulatorOptions, SimulatorThread

CAPACITIES = "/organizations/1/workspaces/1/capacities/users"


def in_pieces(body: bytes, piece_bytes: int, unit: str = "day") -> CapacityReply | str:
    """The decoder's result, or its error message."""
    try:
        return decode_capacities(body, unit, piece_bytes)
    except BadReply as exc:
        return str(exc)


def whole(body: bytes, unit: str = "day") -> CapacityReply | str:
    """The reference: the body decoded in one call (no piece is smaller than the body)."""
    assert item_spans(body, len(body)) is None
    return in_pieces(body, len(body), unit)


@pytest.fixture(scope="module", params=["items", "array"])
def large_reply(request: pytest.FixtureRequest) -> bytes:
    """A real simulator reply for 700 users x 28 days (about 4 MB, one full batch)."""
    options = SimulatorOptions(users=700, ghosts=0, response_shape=request.param)
    with SimulatorThread(options) as sim:
        ids = ",".join(str(i) for i in options.user_ids())
        reply = httpx.get(
            sim.base_url + CAPACITIES,
            params={"user_id": ids, "start_date": "2030-01-07", "end_date": "2030-02-03"},
            headers={"Authorization": "Bearer demo-token"},
            timeout=30,
        )
    assert reply.status_code == 200
    return reply.content


def test_large_reply_is_cut_between_items_into_pieces_of_the_target_size(
    large_reply: bytes,
) -> None:
    spans = item_spans(large_reply)
    assert spans is not None
    assert len(spans) == pytest.approx(len(large_reply) / PIECE_BYTES, abs=1)
    items: list[Any] = []
    for start, end in spans:
        piece = orjson.loads(b"[" + large_reply[start:end] + b"]")
        assert len(b"[" + large_reply[start:end] + b"]") < PIECE_BYTES + 16 * 1024
        items += piece
    assert [item["id"] for item in items] == list(range(1001, 1701))


def test_pieces_give_exactly_the_whole_result(large_reply: bytes) -> None:
    pieced = decode_capacities(large_reply, "day")
    assert isinstance(pieced, CapacityReply)
    assert pieced == whole(large_reply)
    assert len(pieced.entities) == 700
    assert {len(e.days) for e in pieced.entities} == {28}


def test_week_unit_in_pieces(large_reply: bytes) -> None:
    assert decode_capacities(large_reply, "week", 10_000) == whole(large_reply, "week")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"items": [], "x": 1}' + b" " * 100, "empty items"),
        (b'{"total": 1, "items": [{"id": 1}]}' + b" " * 100, "another key first"),
        (b'{"items": [{"id": 1}], "total": 1}' + b" " * 100, "another key last"),
        (b"[1, 2, 3]" + b" " * 100, "not objects"),
        (b'[{"id": 1}' + b" " * 100, "truncated"),
        (b'"[{\\"id\\": 1}]"' + b" " * 100, "a string"),
    ],
)
def test_bodies_that_cannot_be_cut_are_decoded_whole(body: bytes, reason: str) -> None:
    assert item_spans(body, 16) is None, reason
    assert in_pieces(body, 16) == whole(body), reason


def test_a_nested_object_like_an_item_falls_back_to_the_whole_body() -> None:
    """A cut before a nested ``{"id":`` leaves a piece that is no array: decoded whole."""
    trap = {"date": "2030-01-07", "working_minutes": 480, "extra": [0, {"id": 9}, {"id": 8}]}
    items = [{"id": i, "type": "user", "computations": [trap] * 3} for i in range(1, 40)]
    body = json.dumps(items).encode()
    spans = item_spans(body, 50)
    assert spans is not None
    assert len(spans) > len(items)  # some cuts are inside items
    assert in_pieces(body, 50) == whole(body)


def test_invalid_utf8_and_nan_in_a_piece_give_the_whole_bodys_answer() -> None:
    row = {"date": "2030-01-07", "working_minutes": 1}
    good = [{"id": i, "computations": [row]} for i in range(1, 30)]
    body = json.dumps(good).encode()
    nan = body.replace(b'"working_minutes": 1}', b'"working_minutes": NaN}', 1)
    broken = body.replace(b'"2030-01-07"', b'"2030-01-\xff7"', 1)
    assert item_spans(nan, 64) is not None
    assert in_pieces(nan, 64) == whole(nan)
    assert isinstance(whole(nan), CapacityReply)  # the stdlib fallback reads NaN
    assert in_pieces(broken, 64) == whole(broken)
    assert str(whole(broken)).startswith("invalid JSON")


# --- any body: pieces or not, the same answer ---------------------------------------------

keys = st.sampled_from(["id", "type", "computations", "date", "working_minutes", "x"])
leaves = st.none() | st.integers(-5, 2000) | st.sampled_from(["user", "ghost", "2030-01-07"])
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
computation = st.fixed_dictionaries(
    {"date": st.sampled_from(["2030-01-07", "2030-01-08", "bad"])},
    optional={"working_minutes": st.integers(0, 600), "x": values},
)
item = st.fixed_dictionaries(
    {"id": st.integers(0, 30)},
    optional={
        "type": st.sampled_from(["user", "ghost", "Bad"]),
        "computations": st.lists(computation, max_size=3) | values,
        "x": values,
    },
)
bodies = st.tuples(
    st.lists(item | values, min_size=1, max_size=12),
    st.booleans(),
    st.sampled_from([None, 1, 2]),
).map(
    lambda t: (
        json.dumps({"items": t[0]} if t[1] else t[0], indent=t[2]).encode()
        if t[2]
        else json.dumps({"items": t[0]} if t[1] else t[0], separators=(",", ":")).encode()
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies, st.integers(1, 200))
def test_any_body_decodes_in_pieces_as_it_does_whole(body: bytes, piece_bytes: int) -> None:
    assert in_pieces(body, piece_bytes) == whole(body)
