"""Where credentials may go: part of settings resolution. reconciler.yaml is in the
repository, so a pull request can change it; a URL it sets (`api_url`, `auth_url`,
`s2s_url`) receives credentials only if its host is trusted, so that one edited line
cannot send the client secret or the bearer token elsewhere.

Trusted: mParticle's hosts (`mparticle.com` and its subdomains) over https, this machine
(an emulator) over http or https, and, over https, the hosts the environment names: those of
MPARTICLE_API_URL, MPARTICLE_AUTH_URL and MPARTICLE_S2S_URL (the environment chose them,
not the repository), and RECONCILER_TRUSTED_HOSTS. A URL given by the
environment itself is never refused (plain http to another machine only warns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from reconciler.errors import SettingsError
from reconciler.settings.file import is_local_host

TRUSTED_HOSTS_VARIABLE = "RECONCILER_TRUSTED_HOSTS"
MPARTICLE_DOMAIN = "mparticle.com"
#: The variable that sets each URL: the environment's own choice, trusted.
URL_VARIABLES = {
    "api_url": "MPARTICLE_API_URL",
    "auth_url": "MPARTICLE_AUTH_URL",
    "s2s_url": "MPARTICLE_S2S_URL",
}
#: What each URL receives, for messages.
CREDENTIALS_SENT = {
    "api_url": "the Platform API's bearer token",
    "auth_url": "the client id and secret",
    "s2s_url": "the workspace key and secret",
}
#: A host name as the connection uses it (IDNA-encoded, lower case): labels of letters,
#: digits and `-`. Anything else (`a.example\.mparticle.com`) is never taken for a name
#: it merely ends with.
_HOST_NAME = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")
_ENTRIES = re.compile(r"[,\s]+")


def host_of(url: str) -> str:
    """The host a request to `url` connects to: IDNA-encoded, lower case, without a final
    dot; empty when there is none or it cannot be encoded."""
    try:
        host = urlsplit(url).hostname or ""
        return host.encode("idna").decode("ascii").lower().rstrip(".")
    except (ValueError, UnicodeError):
        return ""


def _named_host(entry: str) -> str:
    """An entry of RECONCILER_TRUSTED_HOSTS as the host a request connects to (empty when
    it is not a host name alone: a scheme, port, path or wildcard)."""
    if any(ch in entry for ch in ":/@?#[]\\*%"):
        return ""
    host = host_of(f"https://{entry}")
    return host if _HOST_NAME.fullmatch(host) else ""


def _shown_entry(entry: str) -> str:
    """An entry fit for a message: a user name or password in it hidden (a URL pasted
    whole, `https://user:token@gw.example`, is no host name, and its token no output)."""
    scheme, sep, rest = entry.rpartition("://")
    if "@" not in rest:
        return entry
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}"


def trusted_hosts(environ: Mapping[str, str], *chosen: str | None) -> frozenset[str]:
    """The hosts the environment trusts: RECONCILER_TRUSTED_HOSTS (host names separated by
    commas or spaces; raises SettingsError naming an entry that is not one), and those of
    the URLs it gives (`chosen`: the variables' values and the command line's)."""
    entries = [e for e in _ENTRIES.split(environ.get(TRUSTED_HOSTS_VARIABLE, "")) if e]
    listed = {entry: _named_host(entry) for entry in entries}
    bad = [_shown_entry(entry) for entry, host in listed.items() if not host]
    if bad:
        raise SettingsError(
            f"{TRUSTED_HOSTS_VARIABLE}: {', '.join(map(repr, bad))} "
            f"{'is not a host name' if len(bad) == 1 else 'are not host names'}: list the hosts "
            "themselves, such as gateway.corp.example (no scheme, port, path or wildcard), "
            "separated by commas"
        )
    named = {host_of(url) for url in chosen if url}
    return frozenset(listed.values()) | {host for host in named if _HOST_NAME.fullmatch(host)}


def is_mparticle(host: str) -> bool:
    return _HOST_NAME.fullmatch(host) is not None and (
        host == MPARTICLE_DOMAIN or host.endswith("." + MPARTICLE_DOMAIN)
    )


def refusal(url: str, trusted: frozenset[str]) -> str | None:
    """Why credentials must not go to `url` taken from reconciler.yaml (None: they may)."""
    host = host_of(url)
    if is_local_host(host):
        return None
    if not url.lower().startswith("https://"):
        return (
            f"{host} is another machine and the URL is plain http://: credentials from "
            "reconciler.yaml's URLs travel only over https (or to this machine)"
        )
    if is_mparticle(host) or host in trusted:
        return None
    return (
        f"{host} is neither mParticle's ({MPARTICLE_DOMAIN}) nor this machine, and the "
        "environment does not trust it: reconciler.yaml, which a pull request can change, "
        "cannot choose where credentials go"
    )


def refused_message(field: str, url: str, why: str, *, one_environment: bool = False) -> str:
    """The whole message for a refused URL: what it would receive, why not, how to allow it.
    `one_environment`: the URL is one environment's (`environments.<name>`), where setting
    the URL's variable would send every environment's credentials there, so it is not
    suggested."""
    variable = URL_VARIABLES[field]
    instead = "" if one_environment else f", or set {variable} to this URL"
    if url.lower().startswith("https://"):
        allow = (
            f"If the host is yours, trust it in the environment: "
            f"{TRUSTED_HOSTS_VARIABLE}={host_of(url)}{instead}"
        )
    elif one_environment:
        allow = "Use https://"
    else:
        allow = f"Use https://, or set {variable} to this URL in the environment"
    return f"{url!r} would receive {CREDENTIALS_SENT[field]}, but {why}. Nothing was sent. {allow}"
