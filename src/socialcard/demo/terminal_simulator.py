"""The terminal simulator: what a kiosk, a hospital HIS or a bank system does to call the
platform — sign each request with its key (access.terminals) and send it. The demo, the tests and
`socialcard terminals call` drive the real API through it; partners can read it as the reference
implementation of the signature."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from socialcard.access.terminals import sign_request


class HttpClient(Protocol):
    def request(
        self, method: str, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> Any: ...


@dataclass
class TerminalSimulator:
    """A terminal with its code and key, talking to the platform through an HTTP client."""

    client: HttpClient
    terminal_code: str
    key: bytes
    now: Callable[[], float] = time.time
    last_nonce: str | None = field(default=None, init=False)

    def signed_headers(
        self, method: str, path: str, body: bytes, *, nonce: str | None = None
    ) -> dict[str, str]:
        timestamp = str(int(self.now()))
        nonce = nonce or secrets.token_urlsafe(18)
        self.last_nonce = nonce
        return {
            "X-Terminal-Id": self.terminal_code,
            "X-Nonce": nonce,
            "X-Timestamp": timestamp,
            "X-Signature": sign_request(
                self.key, method=method, path=path, timestamp=timestamp, nonce=nonce, body=body
            ),
            "Content-Type": "application/json",
        }

    def post(
        self,
        path: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        body = json.dumps(payload, ensure_ascii=False).encode()
        sent = self.signed_headers("POST", path, body)
        if idempotency_key:
            sent["Idempotency-Key"] = idempotency_key
        sent.update(headers or {})
        return self.client.request("POST", path, content=body, headers=sent)
