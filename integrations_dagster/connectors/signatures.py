"""Webhook signature checks the vendors use, written once (each connector cites which it uses).

* :func:`hmac_hex` / :func:`hmac_base64` — HMAC-SHA256 of a message with a shared secret, as
  lowercase hex (Zettle's ``X-iZettle-Signature``) or base64 (WooCommerce's ``X-WC-Webhook-Signature``);
* :func:`standard_webhooks` — the Standard Webhooks scheme (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64>`` over ``{id}.{timestamp}.{body}``, a timestamp within five
  minutes) [3p: standard-webhooks spec/standard-webhooks.md; libraries/python webhooks.py].

Comparisons are constant-time (``hmac.compare_digest``); a header may carry several signatures
(a rotated secret), any of which may match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Mapping

TOLERANCE_S = 300  # Standard Webhooks: "reject timestamps more than five minutes away"


class WebhookRefused(Exception):
    """A delivery whose origin cannot be verified: the receiver answers 401 and stores nothing."""


def _mac(secret: bytes, message: bytes) -> bytes:
    return hmac.new(secret, message, hashlib.sha256).digest()


def hmac_hex(secret: str, message: bytes) -> str:
    return _mac(secret.encode(), message).hex()


def hmac_base64(secret: str, message: bytes) -> str:
    return base64.b64encode(_mac(secret.encode(), message)).decode()


def matches(expected: str, given: str | None, *, case_insensitive: bool = False) -> bool:
    """Whether any of the comma- or space-separated values of a header equals ``expected``."""
    if not given:
        return False
    candidates = [v.strip() for v in given.replace(",", " ").split()] or [given.strip()]
    if case_insensitive:
        expected, candidates = expected.lower(), [c.lower() for c in candidates]
    return any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name whatever its case (HTTP names are case-insensitive)."""
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def standard_webhooks(headers: Mapping[str, str], body: bytes, key: bytes, *, now: float | None = None) -> None:
    """Verify a Standard Webhooks delivery with the raw HMAC ``key``; raise WebhookRefused."""
    msg_id, stamp, signatures = (header(headers, h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and stamp and signatures):
        raise WebhookRefused("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        age = abs((now if now is not None else time.time()) - int(stamp))
    except ValueError:
        raise WebhookRefused(f"webhook-timestamp {stamp!r} is not a number") from None
    if age > TOLERANCE_S:
        raise WebhookRefused(f"webhook-timestamp is {age:.0f} s away from now (replayed?)")
    expected = base64.b64encode(_mac(key, f"{msg_id}.{stamp}.".encode() + body)).decode()
    given = [s.split(",", 1)[1] for s in signatures.split() if s.startswith("v1,")]
    if not any(hmac.compare_digest(expected.encode(), g.encode()) for g in given):
        raise WebhookRefused("webhook-signature does not match")
