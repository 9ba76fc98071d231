"""When a failed request is tried again, how long to wait first, and when to stop.

Part of the network edge (used by `http`). The retry rules of SPEC §4.3 as a table keyed by
the kind of failure; full jitter on every wait; the command's deadline, past which nothing
waits: a wait that would outlast it fails at once with a message saying so.

Written here rather than with tenacity or stamina: every wait must be bounded by the command's
deadline, honour `Retry-After`, be announced with the request and the reason, and depend on
the kind of failure and on whether the call may be repeated; with a library those rules
would all live in callbacks around it, and the loop itself (`Http.request`) is short.
"""

from __future__ import annotations

import random
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from reconciler.errors import ApiError, DeadlineExceeded, duration, until
from reconciler.settings import Tuning, is_local_host

#: Statuses retried for every call (the request was not processed, or a proxy failed).
RETRY_ALWAYS = frozenset({429, 502, 503, 504})
#: Longest `Retry-After` obeyed when the command has no deadline; longer fails at once.
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """How hard and how long to try (settings.Tuning holds the environment's values)."""

    attempts: int = 12
    initial_wait: float = 0.25
    max_wait: float = 20.0
    #: Longest one attempt may take, the whole answer included.
    request_timeout: float = 60.0
    #: Seconds for everything sent through one Http (one command); None: no deadline.
    deadline: float | None = None

    @classmethod
    def from_tuning(cls, tuning: Tuning, deadline: float | None) -> RetryPolicy:
        return cls(
            attempts=tuning.retry_attempts,
            initial_wait=tuning.retry_initial_wait,
            max_wait=tuning.retry_max_wait,
            request_timeout=tuning.request_timeout,
            deadline=deadline,
        )


Retried = Literal["always", "idempotent", "never"]


@dataclass(frozen=True)
class Rule:
    """How one kind of failure is retried: for which calls, and for how many attempts
    at most (None: the policy's)."""

    retried: Retried
    attempts: int | None = None


#: Kinds of failure and their rules. A request that never reached the server is safe to
#: repeat even when it is a write; one that may have taken effect repeats only when it is
#: idempotent; one that retrying cannot fix (a name that does not resolve, a certificate
#: that does not verify, a refusal of the content) fails at once; one that costs a whole
#: request timeout to notice (a hung or trickling server) gets one second chance.
RULES: dict[str, Rule] = {
    "throttled": Rule("always"),  # 429, 502, 503, 504: not processed
    "server error": Rule("idempotent"),  # 500: may have taken effect
    "refused here": Rule("always"),  # connection refused by this machine (a local server)
    "refused": Rule("always", attempts=3),  # connection refused by another host
    "proxy": Rule("always", attempts=3),  # the environment's proxy would not connect us
    "connect timeout": Rule("always", attempts=3),
    "unresolved": Rule("never"),  # DNS
    "tls": Rule("never"),  # certificate or protocol
    "timeout": Rule("idempotent", attempts=2),
    "dropped": Rule("idempotent"),  # connection lost mid-answer
    "refusal": Rule("never"),  # any other status: the request itself is wrong
}


_SSL_WAITING = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and what it was raised from (httpx wraps httpcore, which wraps the OS error)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def kind_of(error: BaseException, host: str) -> str:
    """The kind of failure `error` is (a key of RULES): by its HTTP status, else by the
    errors it was raised from. `host` is the server the request went to."""
    status = error.status if isinstance(error, ApiError) else None
    if status is not None:
        if status in RETRY_ALWAYS:
            return "throttled"
        return "server error" if status == 500 else "refusal"
    causes = _causes(error)
    if any(isinstance(c, httpx.ProxyError) for c in causes):
        return "proxy"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "unresolved"
    if any(isinstance(c, httpx.ConnectTimeout) for c in causes):
        return "connect timeout"
    # A handshake that merely waited for more data (SSLWant...) is no TLS failure.
    if any(isinstance(c, ssl.SSLError) and not isinstance(c, _SSL_WAITING) for c in causes):
        return "tls"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "refused here" if is_local_host(host) else "refused"
    if any(isinstance(c, httpx.ConnectError) for c in causes):
        return "refused here" if is_local_host(host) else "refused"
    if any(isinstance(c, (httpx.TimeoutException, TimeoutError)) for c in causes):
        return "timeout"
    return "dropped"


#: What httpx raises when a request failed before it was sent: no connection was made
#: (refused, a name that does not resolve, a TLS handshake that failed, the connect timed
#: out), the proxy would not open a tunnel, or no connection of the pool came free. A read
#: timeout, a connection reset or closed after the request went out, a write cut short: the
#: server may have received it, and a write may have taken effect.
BEFORE_SENDING = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError, httpx.PoolTimeout)


def never_sent(error: BaseException) -> bool:
    """Whether `error` certainly came before its request left this machine: the failure
    httpx raised (the first in the chain) is one of BEFORE_SENDING; for a transport that
    raises the OS's own errors, a refused connection or a name that does not resolve."""
    causes = _causes(error)
    for cause in causes:
        if isinstance(cause, httpx.TransportError):
            return isinstance(cause, BEFORE_SENDING)
    return any(isinstance(c, (ConnectionRefusedError, socket.gaierror)) for c in causes)


def attempts_for(
    kind: str, idempotent: bool, policy: RetryPolicy, *, checking: bool = False
) -> int:
    """How many attempts a request may make in all when it fails this way. `checking`: the
    request checks whether a write whose answer was lost took effect (the applier's look-up
    by name, its read-back of a CA): every failure retried at all then gets the policy's
    attempts, not a kind's fewer (a hung server's second chance, a refusal's third): the
    write reached the server a moment ago, and a check given up fails a step that was
    probably carried out, and the apply with it."""
    rule = RULES[kind]
    if rule.retried == "never" or (rule.retried == "idempotent" and not idempotent):
        return 1
    if checking:
        return policy.attempts
    return min(policy.attempts, rule.attempts or policy.attempts)


def backoff(
    policy: RetryPolicy, attempt: int, error: ApiError, rng: random.Random | None = None
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): full jitter,
    uniform between nothing and a cap that doubles with each attempt. A `Retry-After` (a
    502/503/504 that says; a 429's wait is the pacer's, `pacing`) is the least wait, plus a
    jitter window that widens with each refusal of this request."""
    draw = (rng or random).uniform
    growth = 2 ** min(attempt - 1, 30)
    asked = error.retry_after
    if asked is not None:
        return asked + draw(0, spread(policy, asked, growth))
    return draw(0, min(policy.max_wait, policy.initial_wait * growth))


def spread(policy: RetryPolicy, pause: float, growth: int = 1) -> float:
    """The jitter window after a pause the server asked for: half a pause at first (a
    blip should cost little), widened with `growth` (each refusal of the same request
    doubles it), capped by max_wait."""
    pause = max(pause, policy.initial_wait)
    return min(max(policy.max_wait, pause / 2), max(pause / 2, pause * growth / 2))


@dataclass
class Deadline:
    """The moment everything of one command must be done by (None: no deadline)."""

    seconds: float | None
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def restart(self) -> None:
        """Count from now: the time a person took to answer is not the command's."""
        self.started = self.clock()

    def remaining(self) -> float | None:
        if self.seconds is None:
            return None
        return self.started + self.seconds - self.clock()

    def allows(self, wait: float) -> bool:
        """Whether waiting `wait` seconds still leaves the deadline ahead."""
        remaining = self.remaining()
        limit = MAX_RETRY_AFTER if remaining is None else remaining
        return wait < limit


def beyond_deadline(
    deadline: Deadline, wait: float, shown: str, error: ApiError, *, held: bool = False
) -> DeadlineExceeded:
    """The error for a wait of `wait` seconds before retrying `shown` that the deadline
    does not allow: what was asked, what is left, and the last answer. `held`: the wait
    is for a turn after a 429 that may have answered another request (`error`), which is
    then quoted as that, not as this request's own answer."""
    remaining = deadline.remaining()
    server_asked = error.retry_after
    if server_asked is not None:
        asked = f"the server asked to wait {duration(server_asked)} (Retry-After)"
    else:
        asked = f"the next attempt is due in {duration(wait)}"
    last = "The last answer"
    if held:
        asked = f"its turn after a 429 is due in {duration(wait)}" + (
            f": {asked}" if server_asked is not None else ""
        )
        last = "The 429 that holds requests"
    if remaining is None:
        limit = "longer than reconciler waits for a server; try again later"
    else:
        limit = (
            f"beyond this command's deadline ({duration(max(remaining, 0))} left of "
            f"{duration(deadline.seconds or 0)}, RECONCILER_DEADLINE)"
        )
    return DeadlineExceeded(
        f"gave up on {shown}: {asked}, {limit}. {last}: {error.message}",
        status=error.status,
    )


#: What a failure to reach a server is called in messages, by kind.
UNREACHABLE = {
    "unresolved": "cannot resolve the host name (DNS); check the URL",
    "tls": "the TLS connection failed; check the URL and the server's certificate",
    "refused": "the connection was refused",
    "refused here": "the connection was refused (is the server running?)",
    "connect timeout": "no connection within the connect timeout",
    "proxy": "the proxy (HTTPS_PROXY, HTTP_PROXY or ALL_PROXY) did not connect us; check it",
}


#: What a connection that ended before the whole answer came is called: the request was
#: sent, or was being sent, so the server may have acted on it (a refused connection, which
#: certainly did not reach it, is `UNREACHABLE`'s "the connection was refused").
LOST = "the connection was lost before the answer came"
#: What httpx's RemoteProtocolError says when the server closed the connection (h11 and
#: httpcore): other texts of that error are an answer that broke the protocol.
_CLOSED = ("disconnected", "closed")


def failed_how(exc: httpx.TransportError) -> str:
    """What went wrong with a request that reached no refusal of `UNREACHABLE`, in words,
    the error's type after them: `timed out (ReadTimeout)`, `the connection was lost
    before the answer came (ReadError)`, `the answer broke the HTTP protocol
    (RemoteProtocolError)`, else `connection failed (...)`."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({name})"
    if isinstance(exc, httpx.RemoteProtocolError):
        if any(word in str(exc).lower() for word in _CLOSED):
            return f"{LOST} ({name})"
        return f"the answer broke the HTTP protocol ({name})"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return f"{LOST} ({name})"
    return f"connection failed ({name})"


def retry_line(wait: float, error: ApiError, doing: str) -> str:
    """`retrying 2/12 GET ... in 4 s (at 14:03:07 UTC): 503 ...`: a retry as announced."""
    return f"{doing} in {duration(wait)} (at {until(wait)}): {reason(error)}"


def reason(error: ApiError) -> str:
    """The failure in a few words for a retry notice: `503 Service unavailable.`, or,
    without a status, ours then the cause: `the connection was refused: All connection
    attempts failed`."""
    detail = error.detail if len(error.detail) <= 200 else f"{error.detail[:199]}…"
    if error.status is not None:
        return f"{error.status} {detail}".strip()
    head = error.message.split(" (")[0]
    return f"{head}: {detail}" if detail else head
