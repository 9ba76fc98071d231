"""Redaction at the network edge: a secret is hidden in every form it travels in, short
secrets do not garble text, credential headers are hidden whole."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import httpx
import pytest

from reconciler.api import secrets
from reconciler.api.http import error_for
from reconciler.api.secrets import REDACTED, REDACTED_HEADER, Redactor, basic_token

SECRET = 'q"u\\o-te-MARKER'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],  # a JSON body quoted back: \" and \\
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # that JSON quoted inside JSON again
        quote(SECRET, safe=""),
    ],
    ids=["plain", "json", "json-in-json", "percent"],
)
def test_every_form_of_a_secret_is_hidden(form: str) -> None:
    redact = Redactor([SECRET])
    text = f"upstream said: {form} (twice: {form})"
    assert redact(text) == f"upstream said: {REDACTED} (twice: {REDACTED})"


def test_the_basic_token_of_a_key_and_secret_is_hidden() -> None:
    token = basic_token("workspace-key", "short")
    assert token == base64.b64encode(b"workspace-key:short").decode()
    env = {"MPARTICLE_API_KEY": "workspace-key", "MPARTICLE_API_SECRET": "short"}
    redact = Redactor.from_env(env)
    assert redact(f"echo: Authorization: Basic {token}") == f"echo: Authorization: Basic {REDACTED}"


def test_short_secrets_do_not_garble_free_text() -> None:
    redact = Redactor(["emu", "er", "c"])
    text = "the emulator answered: user.csv"
    assert redact(text) == text
    assert not redact


def test_credential_headers_are_hidden_whole_whatever_their_length() -> None:
    redact = Redactor()
    shown = redact.headers({"Authorization": "Bearer t", "Cookie": "s=1", "Accept": "json"})
    assert shown == {"Authorization": REDACTED_HEADER, "Cookie": REDACTED_HEADER, "Accept": "json"}


def test_a_longer_secret_containing_a_shorter_one_is_hidden_whole() -> None:
    redact = Redactor(["MARKER-secret", "MARKER-secret-longer"])
    assert redact("x MARKER-secret-longer y") == f"x {REDACTED} y"


def test_each_environments_secrets_and_basic_tokens_are_known() -> None:
    env = {
        "MPARTICLE_PROD_CLIENT_SECRET": "prod-client-MARKER",
        "MPARTICLE_STAGING_API_KEY": "staging-key",
        "MPARTICLE_STAGING_API_SECRET": "staging-secret-MARKER",
        "MPARTICLE_PROD_ID": "not a secret",
    }
    redact = Redactor.from_env(env)
    token = basic_token("staging-key", "staging-secret-MARKER")
    text = f"prod-client-MARKER staging-secret-MARKER Basic {token} not a secret"
    assert redact(text) == f"{REDACTED} {REDACTED} Basic {REDACTED} not a secret"


def test_a_learned_token_is_hidden_by_every_redactor_even_one_made_before() -> None:
    """The --debug trace's Redactor is made before any token is issued."""
    before = Redactor()
    secrets.learn("bt-MARKER-learned-token")
    assert before('echo: "Bearer bt-MARKER-learned-token"') == f'echo: "Bearer {REDACTED}"'
    assert Redactor()("bt-MARKER-learned-token") == REDACTED


def test_a_learned_token_is_hidden_in_errors_when_the_secret_is_too_short_to_search() -> None:
    """A Redactor given only short secrets is falsy; the error still hides the token."""
    secrets.learn("bt-MARKER-short-secret-token")
    answer = httpx.Response(
        400, json={"errors": [{"message": "Bearer bt-MARKER-short-secret-token"}]}
    )
    error = error_for(answer, "GET", "https://api.example/x", Redactor(["short"]))
    assert list(error.messages) == [f"Bearer {REDACTED}"]
