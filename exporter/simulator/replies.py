"""HTTP replies of the simulator: JSON, the Focus error body and the faulty replies."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from .faults import ArmedFault, Fault
from .quota import REMAINING_HEADER, RESETS_IN_HEADER

JSON_TYPE = "application/json"
ERROR_NAMES = {
    400: "validation",
    401: "unauthorized",
    402: "quota_exceeded",
    403: "forbidden",
    404: "not_found",
    429: "rate_limited",
}
_CHUNK = 64 * 1024
_HUGE_ELEMENT = json.dumps(
    {
        "id": 1001,
        "type": "user",
        "computations": [
            {
                "date": "2030-01-07",
                "working_minutes": 480,
                "estimated_minutes": 300,
                "assigned_tasks_count": 3,
            }
        ]
        * 4,
    },
    separators=(",", ":"),
).encode()


def json_reply(
    body: str | bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON reply from already encoded text."""
    data = body.encode() if isinstance(body, str) else body
    return web.Response(
        body=data, status=status, headers=headers, content_type=JSON_TYPE, charset="utf-8"
    )


def error_reply(
    status: int,
    description: str,
    trace_id: str,
    values: Mapping[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The Focus error body: error, error_description, error_values, trace_id."""
    body = {
        "error": ERROR_NAMES.get(status, "internal" if status >= 500 else "error"),
        "error_description": description,
        "error_values": dict(values or {}),
        "trace_id": trace_id,
    }
    return json_reply(json.dumps(body), status, headers)


Normal = Callable[[], Awaitable[web.Response]]


async def fault_reply(
    request: web.Request,
    armed: ArmedFault,
    quota_headers: Mapping[str, str],
    trace_id: str,
    shape: str,
    normal: Normal,
    closing: asyncio.Event,
) -> web.StreamResponse:
    """The reply of a fault that replaces the whole reply."""
    fault, params = armed.fault, armed.params
    if fault is Fault.STATUS:
        status = int(params["status"])
        headers = dict(quota_headers)
        if params["retry_after"] is not None:
            headers["Retry-After"] = str(params["retry_after"])
        return error_reply(status, f"simulated status {status}", trace_id, {}, headers)
    if fault is Fault.QUOTA_EXHAUSTED:
        headers = {REMAINING_HEADER: "0", RESETS_IN_HEADER: str(params["resets_in"])}
        return error_reply(402, "quota exceeded", trace_id, {}, headers)
    if fault is Fault.QUOTA_HEADERS_MISSING:
        return error_reply(402, "quota exceeded", trace_id)
    if fault is Fault.QUOTA_HEADERS_MALFORMED:
        headers = {
            REMAINING_HEADER: str(params["remaining"]),
            RESETS_IN_HEADER: str(params["resets_in"]),
        }
        return error_reply(402, "quota exceeded", trace_id, {}, headers)
    if fault is Fault.RATE_LIMITED:
        headers = {**quota_headers, "Retry-After": str(params["retry_after"])}
        return error_reply(429, "too many requests", trace_id, {}, headers)
    if fault is Fault.WRONG_SHAPE:
        shaped = '["a", "b"]' if params["variant"] == "strings" else '{"foo": 1}'
        return json_reply(shaped, 200, quota_headers)
    if fault is Fault.WRONG_CONTENT_TYPE:
        html = "<html><body><h1>Down for maintenance</h1></body></html>"
        return web.Response(text=html, content_type="text/html", headers=quota_headers)
    if fault is Fault.EMPTY:
        return web.Response(body=b"", content_type=JSON_TYPE, headers=quota_headers)
    if fault is Fault.HUGE_BODY:
        return await _huge(request, params["size"], params["content_length"], shape, closing)
    reply = await normal()
    raw = reply.body
    body = bytes(raw) if isinstance(raw, bytes | bytearray) else b""
    if fault is Fault.INVALID_JSON:
        return json_reply(body[: len(body) // 2] + b"\x00<!-- not json", 200, quota_headers)
    if fault is Fault.TRUNCATED:
        return await _cut(request, body, len(body) + int(params["missing"]), quota_headers, False)
    if fault is Fault.RESET:
        return await _cut(request, body[: len(body) // 2], len(body), quota_headers, True)
    raise ValueError(f"{fault} does not replace the reply")


async def _cut(
    request: web.Request, sent: bytes, announced: int, headers: Mapping[str, str], reset: bool
) -> web.StreamResponse:
    """Announce more bytes than are sent, then close (FIN) or reset (RST) the connection."""
    reply = web.StreamResponse(status=200, headers=headers)
    reply.content_type = JSON_TYPE
    reply.content_length = announced
    await reply.prepare(request)
    await reply.write(sent)
    transport = request.transport
    if transport is None:
        return reply
    if reset:
        await _flushed(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    return reply


async def _flushed(transport: asyncio.BaseTransport, limit: float = 2.0) -> None:
    """Wait (briefly) until the kernel has taken every byte written so far."""
    if not isinstance(transport, asyncio.WriteTransport):
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    # No event signals an empty write buffer, so poll it (with a deadline).
    while transport.get_write_buffer_size() > 0 and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def _huge(
    request: web.Request, size: int, announce: bool, shape: str, closing: asyncio.Event
) -> web.StreamResponse:
    """Stream size bytes (0: without end) of valid-looking JSON of the configured shape."""
    head, tail = (b'{"items":[', b"]}") if shape == "items" else (b"[", b"]")
    per_chunk = max(1, _CHUNK // (len(_HUGE_ELEMENT) + 1))
    chunk = b",".join([_HUGE_ELEMENT] * per_chunk)
    elements = max(1, (size - len(head) - len(tail) + 1) // (len(_HUGE_ELEMENT) + 1))
    reply = web.StreamResponse(status=200)
    reply.content_type = JSON_TYPE
    if announce and size > 0:
        reply.content_length = len(head) + len(tail) + elements * (len(_HUGE_ELEMENT) + 1) - 1
    await reply.prepare(request)
    try:
        await reply.write(head + _HUGE_ELEMENT)
        left = elements - 1
        while (size <= 0 or left > 0) and not closing.is_set():
            count = per_chunk if size <= 0 else min(per_chunk, left)
            await reply.write(b"," + (chunk if count == per_chunk else chunk[: _span(count)]))
            left -= count
        if size > 0 and not closing.is_set():
            await reply.write(tail)
            await reply.write_eof()
    except ConnectionError:
        pass  # the client gave up, as it should
    return reply


def _span(count: int) -> int:
    """Length of count elements joined by commas."""
    return count * (len(_HUGE_ELEMENT) + 1) - 1
