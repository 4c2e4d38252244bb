"""API keys: which keys a request presents and whom they stand for. HTTP
requests, WebSocket upgrades and ``connection_init`` payloads all go
through ``principal_for``."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from starlette.requests import Request
from starlette.websockets import WebSocket

from service.settings import ApiKey, Settings


def find_key(settings: Settings, presented: str) -> ApiKey | None:
    """Compare against every configured key in constant time per key."""
    found = None
    for secret, api_key in settings.api_keys.items():
        if hmac.compare_digest(secret.encode(), presented.encode()):
            found = api_key
    return found


def presented_keys(request: Request | WebSocket) -> list[str]:
    """Every key a request presents: none when it sends no credentials at
    all, an empty string for an Authorization header that is not ``Bearer
    <key>`` (which no configured key matches, so it is refused, not ignored)."""
    keys = []
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        keys.append(token.strip() if scheme.lower() == "bearer" else "")
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        keys.append(api_key.strip())
    return keys


def principal_for(settings: Settings, keys: list[str]) -> tuple[ApiKey | None, bool]:
    """Who the presented keys stand for, and whether they are refused: every
    key presented must be known, and two keys must stand for the same one."""
    found = {find_key(settings, key) for key in keys}
    if not keys:
        return None, False
    if None in found or len(found) > 1:
        return None, True
    return found.pop(), False


def keys_in(params: Mapping[str, object]) -> list[str]:
    """The keys a ``connection_init`` payload presents, read as the headers
    are: ``Authorization: Bearer <key>``, or ``apiKey`` / ``X-API-Key``."""
    keys = []
    lowered = {str(k).lower(): v for k, v in params.items()}
    authorization = lowered.get("authorization")
    if authorization is not None:
        scheme, _, token = str(authorization).strip().partition(" ")
        keys.append(token.strip() if scheme.lower() == "bearer" else "")
    for name in ("apikey", "x-api-key"):
        if name in lowered:
            keys.append(str(lowered[name]).strip())
    return keys
