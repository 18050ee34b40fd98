"""Slack's HTTP requests, checked before anything reads them.

Every request to ``/slack/events`` must carry Slack's signature: an HMAC-SHA256, with the
app's signing secret, over ``v0:<timestamp>:<body>``, and a timestamp within five minutes
of now. The gate checks the headers before reading the body and the signature before
parsing it, so junk costs one comparison: a request without a valid signature, or with a
timestamp that isn't a number or is out of the window, gets 401; a signed body that isn't a
Slack payload (not UTF-8, not JSON or form fields, not an object, or not the shape the
listeners read) gets 400. Each refusal is one WARNING line naming the reason, never the
body, and no traceback. What passes goes to bolt, whose own check is off: it would parse
first and, on a failure, log the whole body (members' notes) at INFO.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from adapters.slack.app import payload_problem

__all__ = ["SIGNATURE_WINDOW", "RequestGate", "sign"]

log = logging.getLogger(__name__)

SIGNATURE_WINDOW = 300  # seconds either side of now (Slack's own rule)
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
_SIGNED_HEADERS = (TIMESTAMP_HEADER, SIGNATURE_HEADER)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() takes other scripts' too
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's signature of ``body`` sent at ``timestamp`` (what ``X-Slack-Signature`` holds).

    The same as ``slack_sdk.signature.SignatureVerifier.generate_signature``, but over the
    bytes as they came: that one decodes them first, and fails on a body that isn't UTF-8.
    """
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


class RequestGate:
    """Checks Slack's requests and hands the good ones to ``app``.

    ``clock`` gives the time in seconds since the epoch (``time.time``); tests pass a fixed
    one. ``app`` must not verify requests itself (``request_verification_enabled=False``).
    """

    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        *,
        clock: Callable[[], float] = time.time,
        window: int = SIGNATURE_WINDOW,
    ) -> None:
        if not signing_secret:
            raise ValueError("a signing secret is needed to check Slack's requests")
        self.app = app
        self._secret = signing_secret
        self.clock = clock
        self.window = window

    async def handle(
        self,
        headers: Iterable[tuple[str, str]],
        read: Callable[[], Awaitable[bytes]],
        *,
        query: str = "",
    ) -> BoltResponse:
        """Answer one request: ``headers`` as (name, value) pairs, repeats included;
        ``read`` returns the body, and is only called once the headers are in order."""
        found = _headers(headers)
        if isinstance(found, BoltResponse):
            return found
        refused = self._check_headers(found)
        if refused is not None:
            return refused
        body = await read()
        if not hmac.compare_digest(
            sign(self._secret, found[TIMESTAMP_HEADER], body), found[SIGNATURE_HEADER]
        ):
            return _refuse(401, "a signature that doesn't match")
        return await self._dispatch(found, body, query)

    def _check_headers(self, headers: Mapping[str, str]) -> BoltResponse | None:
        timestamp = headers.get(TIMESTAMP_HEADER)
        signature = headers.get(SIGNATURE_HEADER)
        if timestamp is None or signature is None:
            return _refuse(401, "no signature")
        if not _TIMESTAMP.fullmatch(timestamp):
            return _refuse(401, "a timestamp that isn't a number")
        skew = int(timestamp) - self.clock()
        if abs(skew) > self.window:
            return _refuse(401, f"a timestamp {abs(skew):.0f} s in the {_when(skew)}")
        if not _SIGNATURE.fullmatch(signature):
            return _refuse(401, "a signature that isn't one")
        return None

    async def _dispatch(self, headers: Mapping[str, str], body: bytes, query: str) -> BoltResponse:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _refuse(400, "a signed body that isn't UTF-8")
        try:
            # bolt parses the body (JSON, form fields, a form's JSON "payload") as it is built.
            request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
        except Exception as err:  # whatever the parser trips on
            return _refuse(400, f"a signed body that isn't a payload ({type(err).__name__})")
        payload: Any = request.body
        if not isinstance(payload, dict):
            return _refuse(400, "a signed payload that isn't an object")
        problem = payload_problem(payload)
        if problem is not None:
            return _refuse(400, f"a signed payload with {problem}")
        try:
            return await self.app.async_dispatch(request)
        except Exception as err:  # bolt catches its listeners'; a last guard
            log.error("handling a Slack request failed with %s", type(err).__name__)
            return BoltResponse(status=500, body="")


def _headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str] | BoltResponse:
    """The headers by lower-case name; a refusal when a signed header comes twice (the
    signature checked and the one a later step reads must be the same)."""
    found: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in found and key in _SIGNED_HEADERS:
            return _refuse(401, f"{key} given twice")
        found[key] = value
    return found


def _when(skew: float) -> str:
    return "future" if skew > 0 else "past"


def _refuse(status: int, reason: str) -> BoltResponse:
    """One WARNING line with ``reason`` (words of ours, never the request's), and the answer."""
    log.warning("refused a Slack request (%d): %s", status, reason)
    return BoltResponse(status=status, body="")
