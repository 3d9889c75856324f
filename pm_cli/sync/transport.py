"""How `pm sync` reaches the server: the server URL and token it needs, one httpx client with
pm's headers, the server's errors as SyncErrors, and retries with backoff (honouring a
Retry-After) on network errors, 429 and 5xx."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from pm_cli.errors import PmError, SyncError
from pm_cli.protocol.shapes import PROTOCOL
from pm_cli.store.engine import SYNC_SCHEMA

RETRIES = 4


def _server(url: str | None, token: str | None) -> tuple[str, str]:
    if not url or not token:
        raise PmError(
            "this laptop is not logged in to a sync server", hint="pm sync login URL --token TOKEN"
        )
    return url.rstrip("/"), token


def server_url(url: str) -> str:
    """A URL given to `pm sync login`, without its trailing slash; refused if not http(s)."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise PmError(f"not a server URL: {url!r}", where="URL", hint="e.g. https://pm.example.com")
    return url


TRANSPORT: httpx.BaseTransport | None = None
"""Where every request of `pm sync` goes instead of the network when set (the tests: the server
app in-process); None, the default, is HTTP."""


def _client(url: str, token: str, timeout: float = 60.0) -> httpx.Client:
    transport = TRANSPORT
    if transport is None and url.lower().startswith("http://"):
        # a plain-HTTP server: no TLS is spoken (redirects are not followed), so load no
        # certificate store (70 ms of every run)
        transport = httpx.HTTPTransport(verify=False)
    return httpx.Client(
        base_url=url,
        timeout=timeout,
        transport=transport,
        headers={
            "Authorization": f"Bearer {token}",
            "Pm-Protocol": str(PROTOCOL),
            "Pm-Schema": str(SYNC_SCHEMA),
            "User-Agent": "pm-sync",
        },
    )


def _error(r: Any) -> SyncError:
    try:
        body = r.json()
    except ValueError:
        body = {}
    msg = body.get("message") or f"the server answered {r.status_code}"
    where = body.get("where") or []
    return SyncError(
        f"{msg} (HTTP {r.status_code})",
        where="; ".join(where[:5]) + (" …" if len(where) > 5 else "") or None,
        hint=body.get("hint"),
    )


def error_code(r: Any) -> str | None:
    """The `error` code of a refusal's JSON body, if it has one."""
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


BACKOFF_BASE_S = 0.5  # the first retry's window; it doubles each time
BACKOFF_MAX_S = 8.0  # the window grows no wider than this
RETRY_AFTER_MAX_S = 60.0  # a server's Retry-After is honoured up to this long
sleep: Callable[[float], None] = time.sleep
"""How `_request` waits between attempts (a test may set a recorder here or pass one)."""


def retries() -> int:
    """RETRIES, or PM_SYNC_RETRIES (0 for one attempt only, e.g. in scripts)."""
    import os

    raw = os.environ.get("PM_SYNC_RETRIES", "")
    return max(0, int(raw)) if raw.strip().isdigit() else RETRIES


def retry_after(r: Any) -> float | None:
    """The seconds a 429/503 asks to wait: `Retry-After: 120` or an HTTP date; None if it
    says nothing usable."""
    from email.utils import parsedate_to_datetime

    if r.status_code not in (429, 503):
        return None
    raw = (r.headers.get("retry-after") or "").strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())


def backoff(attempt: int, asked: float | None = None) -> float:
    """Seconds to wait before retry `attempt` (0 first): "full jitter", a random time in a
    window that doubles each attempt, so laptops that failed together do not come back
    together; after a Retry-After, that long plus a random part of as long again (or of the
    window, if wider). Never over RETRY_AFTER_MAX_S."""
    import random

    window = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt)
    if asked is None:
        return random.uniform(0.0, window)
    asked = min(asked, RETRY_AFTER_MAX_S)
    return min(RETRY_AFTER_MAX_S, asked + random.uniform(0.0, max(window, asked)))


def _request(
    send: Callable[[], Any], what: str, wait: Callable[[float], None] | None = None
) -> Any:
    """Send with backoff (`backoff`) on network errors, 429 and 5xx; the response otherwise.
    `wait` (default `sleep`) is how it waits."""
    tries = retries()
    for attempt in range(tries + 1):
        asked = None
        try:
            r = send()
        except httpx.TransportError as e:
            if attempt == tries:
                raise SyncError(
                    f"cannot reach the sync server ({what}): {e}",
                    hint="nothing is lost: pending changes stay queued; run pm "
                    "sync again when online",
                ) from None
        else:
            if r.status_code < 500 and r.status_code != 429:
                return r
            if attempt == tries:
                if r.status_code == 503 and error_code(r) == "database_unavailable":
                    raise SyncError(
                        "the server's database is unreachable; nothing is lost",
                        hint="pending changes stay queued on this laptop; run "
                        "pm sync again in a few minutes",
                    )
                raise _error(r)
            asked = retry_after(r)
        (wait or sleep)(backoff(attempt, asked))
    raise AssertionError("unreachable")


def plain_http_to_another_host(url: str) -> bool:
    """True for http:// to anything but this machine (a token would cross the network bare)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name: another machine, as far as we can tell
