"""Secrets as they travel, and their redaction where text about a request is made.

The network edge is the only place a secret is sent, so it is the only place one can come
back: in a request header, an auth request body, or a server's error text quoting either
(a gateway may echo the `Authorization` header). Text made there (error messages, HTTP
traces) passes through a `Redactor`; data (plans, exports, seeds) never does, so a CA whose
description happens to contain the secret's text keeps it exactly.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

REDACTED = "***"
#: What a credential header's value reads as in a trace.
REDACTED_HEADER = "[redacted]"
#: Header values that are credentials: always hidden whole, whatever their length.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
#: Shorter secrets are not searched for in free text: hiding every `emu` of a message would
#: garble it (`u***er***.c***v`) and protect little. Headers are hidden whole regardless.
MIN_SECRET_LENGTH = 8
#: Environment variables whose values are secrets (SPEC §3: secrets come only from here),
#: and each environment's own (SPEC §7: MPARTICLE_<ENV>_CLIENT_SECRET, ..._API_SECRET).
SECRET_ENV_VARS = ("MPARTICLE_CLIENT_SECRET", "MPARTICLE_API_SECRET")
_ENVIRONMENT_SECRET = re.compile(r"MPARTICLE_[A-Z0-9_]+_(CLIENT|API)_SECRET")
#: The seeding keys (the Basic token is key:secret).
_API_KEY = re.compile(r"MPARTICLE_(?:[A-Z0-9_]+_)?API_KEY")
#: The forms of secrets learned while the process runs: the bearer tokens the token
#: endpoint issues (as good as the client secret while they last). Every Redactor hides
#: them, one made before the token was issued too (the --debug trace's, the CLI's).
_learned: list[str] = []


def learn(secret: str) -> None:
    """Hide `secret` (a bearer token just issued) in every Redactor from now on."""
    if len(secret) >= MIN_SECRET_LENGTH:
        _learned.extend(sorted(_forms(secret) - set(_learned)))


def basic_token(key: str, secret: str) -> str:
    """The base64 `key:secret` of HTTP Basic auth (how the Seeding API's secret travels)."""
    return base64.b64encode(f"{key}:{secret}".encode()).decode()


def _forms(secret: str) -> set[str]:
    """The ways `secret` can appear in text about a request: as written, JSON-escaped once
    or twice (a JSON body quoted inside a JSON error), and percent-encoded."""
    once = json.dumps(secret, ensure_ascii=False)[1:-1]
    twice = json.dumps(once, ensure_ascii=False)[1:-1]
    return {secret, once, twice, quote(secret, safe="")}


class Redactor:
    """Hides known secrets in text, in every form they travel in."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: list[str] = []
        for secret in secrets:
            self.add(secret)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        """The secrets of the environment, each environment's (`MPARTICLE_<ENV>_...`)
        included, with the Basic tokens the seeding keys make with them."""
        env = os.environ if environ is None else environ
        names = [*SECRET_ENV_VARS, *(n for n in env if _ENVIRONMENT_SECRET.fullmatch(n))]
        secrets = [env.get(name, "") for name in names]
        keys = [value for name, value in env.items() if _API_KEY.fullmatch(name) and value]
        for name in names:
            if name.endswith("_API_SECRET") and env.get(name):
                secrets += [basic_token(key, env[name]) for key in keys or [""]]
        return cls(secrets)

    def add(self, secret: str | None) -> None:
        """Hide `secret` from now on (ignored when too short to find safely in text)."""
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            return
        known = set(self._forms)
        self._forms += sorted(_forms(secret) - known, key=len, reverse=True)
        # Longest first, so a secret that contains another is hidden whole.
        self._forms.sort(key=len, reverse=True)

    def __bool__(self) -> bool:
        """Whether it was given a secret long enough to hide (learned tokens aside)."""
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        forms = self._forms
        if _learned:  # longest first again, across both lists
            forms = sorted({*forms, *_learned}, key=len, reverse=True)
        for form in forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers fit for a trace: credentials hidden whole, other values redacted."""
        return {
            name: REDACTED_HEADER if name.lower() in SECRET_HEADERS else self(value)
            for name, value in headers.items()
        }
