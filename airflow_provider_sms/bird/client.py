"""HTTP client for Bird's Channels API: one pooled session, AccessKey auth, timeouts, retries
with jittered backoff, a shared rate limiter and typed errors. No Airflow imports."""

from __future__ import annotations

import email.utils
import http.client
import io
import json
import logging
import math
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit

import requests
import requests.auth
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from airflow_provider_sms import __version__
from airflow_provider_sms.bird.budget import SharedBudget
from airflow_provider_sms.bird.errors import (
    BirdAmbiguousError,
    BirdAuthenticationError,
    BirdConnectionError,
    BirdDestinationBlockedError,
    BirdError,
    BirdListingUnclearError,
    BirdRateLimitError,
    error_for_status,
    names_blocked_destination,
)
from airflow_provider_sms.bird.facts import MAX_BATCH_SIZE, MAX_LIST_LIMIT
from airflow_provider_sms.bird.ids import checked_uuid
from airflow_provider_sms.bird.ratelimit import RateLimiter
from airflow_provider_sms.bird.settings import ClientSettings
from airflow_provider_sms.loopback import is_loopback

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-sms/{__version__} (+requests/{requests.__version__})"
# The answers after which the same request is made again: Bird did not process it (408: it
# did not get the whole request in time; 429: over the rate limit; API-NOTES sections 7 and
# 8), or failed on its side. The storage host of an upload is retried on the same ones.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Retries are logged: each reason at most once a second (requests in flight fail together),
# and a wait before the next try at least every 5 s (every 4.5, so a busy host keeps to 5).
RETRY_LOG_INTERVAL = 1.0
WAIT_LOG_INTERVAL = 4.5
# The answer field naming a listing's next page. Bird documents the `pageToken` parameter,
# not this name (inferred: API-NOTES section 5), so no other name is guessed at.
NEXT_PAGE_FIELD = "nextPageToken"
# The most of one answer's body read into memory. Bird's largest answer, a page of 100
# messages, is well under 1 MiB: a longer one is not Bird's, and is cut off unread.
MAX_ANSWER_BYTES = 8 * 2**20

T = TypeVar("T")


class _AccessKeyAuth(requests.auth.AuthBase):
    """Bird's ``Authorization: AccessKey <key>``; its repr never shows the key."""

    def __init__(self, key: str):
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"AccessKey {self._key}"
        return request

    def __repr__(self) -> str:
        return "_AccessKeyAuth(<hidden>)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header given in seconds or as an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Page(list):
    """One page of a listing (its messages), with the token naming the next page (None when
    the answer named none): a reader may stop and go on from there later."""

    def __init__(self, messages: list, next_token: str | None):
        super().__init__(messages)
        self.next_token = next_token


class AnswerDeadlineError(TimeoutError):
    """The whole answer (head and body) did not arrive in the time allowed for it. Only ever
    the cause of requests' ReadTimeout, which the client turns into a BirdError."""


# The deadline (monotonic) and the seconds it allows, of the request this thread is making.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("answer_deadline", default=None)


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each waiting at most until the deadline: a head or a body trickled a
    byte at a time cannot stretch an answer past it, as it can a per-read timeout."""

    def __init__(self, sock: socket.socket, deadline: float, seconds: float):
        self._sock = sock
        # As `sock.makefile` does, so that the socket stays open while its answer is read.
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline
        self._seconds = seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._passed()
        timeout = self._sock.gettimeout()
        if timeout is not None and timeout <= remaining:
            return self._raw.readinto(buffer)  # the read timeout comes first
        self._sock.settimeout(remaining)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            raise self._passed() from None
        finally:
            self._sock.settimeout(timeout)

    def _passed(self) -> AnswerDeadlineError:
        return AnswerDeadlineError(f"the answer did not complete within {self._seconds:g}s")

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What http.client reads an answer through: the socket, made a file of deadline reads."""

    def __init__(self, sock: socket.socket, deadline: float, seconds: float):
        self._args = (sock, deadline, seconds)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(*self._args))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any):
        deadline = _DEADLINE.get()
        if deadline is not None:
            sock = _DeadlineSocket(sock, *deadline)  # type: ignore[assignment]
        super().__init__(sock, *args, **kwargs)


def _deadline_pools(manager: urllib3.PoolManager) -> None:
    """Make the connections of `manager`'s pools read answers with the deadline."""
    pools = manager.pool_classes_by_scheme
    manager.pool_classes_by_scheme = {
        scheme: type(pool.__name__, (pool,), {"ConnectionCls": _deadline_connection(pool)})
        for scheme, pool in pools.items()
    }


def _deadline_connection(pool: type) -> type:
    connection = pool.ConnectionCls
    return type(connection.__name__, (connection,), {"response_class": _DeadlineResponse})


class _DeadlineAdapter(HTTPAdapter):
    """Connections, direct or through a proxy, whose answers keep the request's deadline.
    No retries: the client's own know which failures are safe to repeat."""

    def __init__(self, pool_size: int):
        super().__init__(pool_connections=1, pool_maxsize=pool_size, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _deadline_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        new = proxy not in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **kwargs)
        if new:
            _deadline_pools(manager)
        return manager


def _unread_redirect(response: requests.Response, **_: Any) -> None:
    """requests reads a redirect's whole body before following it, and never uses it: it is
    left unread instead (and its connection closed, if it has one)."""
    if response.is_redirect:
        _read_answer(response, 0)


def new_session(*, pool_size: int = 1, trust_env: bool = True) -> requests.Session:
    """A session for :meth:`BirdClient.exchange`: no retries of its own, deadlines kept, and
    no redirect's body read."""
    session = requests.Session()
    session.hooks["response"].append(_unread_redirect)
    adapter = _DeadlineAdapter(pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = trust_env
    return session


class BirdClient:
    def __init__(self, settings: ClientSettings, *, pool_size: int = 16):
        self.settings = settings
        self.pool_size = pool_size
        self.figures = RequestFigures()
        self._limiters = {
            method: RateLimiter(
                limit, shared_by=self._host_key(method), budget=self._budget(method)
            )
            for method, limit in (
                ("POST", settings.max_requests_per_second),
                ("GET", settings.max_get_requests_per_second),
            )
        }
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()

    def _limit_key(self, method: str) -> str:
        """Bird's limits are per workspace and method: what every sender to one shares."""
        return f"{self.settings.base_url}|{self.settings.workspace_id}|{method}"

    def _host_key(self, method: str) -> str | None:
        """Processes on this host sending to one workspace share its limits."""
        return self._limit_key(method) if self.settings.share_rate_limit_on_host else None

    def _budget(self, method: str) -> SharedBudget | None:
        """Senders on every host using one Redis share the workspace's limits."""
        url, password = self.settings.rate_limit_redis_url, self.settings.rate_limit_redis_password
        return SharedBudget.for_store(url, self._limit_key(method), password) if url else None

    # -- session -------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        with self._session_lock:
            if self._session is None:
                # A proxy from the environment cannot reach this machine's loopback sandbox.
                session = new_session(
                    pool_size=self.pool_size,
                    trust_env=not is_loopback(urlsplit(self.settings.base_url).hostname),
                )
                session.headers.update(
                    {"Accept": "application/json", "Content-Type": "application/json"}
                )
                # As session auth (not a plain header) so that a ~/.netrc entry cannot
                # replace it, while proxies from the environment still apply.
                session.auth = _AccessKeyAuth(self.settings.access_key)
                self._session = session
            return self._session

    def close(self) -> None:
        with self._session_lock:
            if self._session is not None:
                self._session.close()
                self._session = None
        RETRY_LOG.flush()

    def __enter__(self) -> BirdClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request ---------------------------------------------------------------------

    def exchange(
        self, session: requests.Session, method: str, url: str, *, limit: int, **kwargs: Any
    ) -> tuple[requests.Response, bool]:
        """Make one request over `session` (from :func:`new_session`) and read its answer:
        all of it within the connection's connect and read timeouts added up, counted from
        the start (else requests' ReadTimeout, caused by AnswerDeadlineError), and at most
        `limit` bytes of its body. The response, and whether its body was read whole: a
        longer one is cut at `limit` and its connection closed."""
        settings = self.settings
        seconds = settings.connect_timeout + settings.read_timeout
        token = _DEADLINE.set((time.monotonic() + seconds, seconds))
        try:
            # The read timeout also bounds each socket read, as it always did.
            response = session.request(
                method,
                url,
                timeout=(settings.connect_timeout, settings.read_timeout),
                stream=True,
                **kwargs,
            )
            return response, _read_answer(response, limit)
        finally:
            _DEADLINE.reset(token)

    def _workspace_path(self, suffix: str) -> str:
        return f"/workspaces/{quote(self.settings.workspace_id, safe='')}{suffix}"

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry `attempt` (0 first), with the connection's backoff."""
        # Full jitter: spreads the retries of concurrent senders apart.
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict | None = None,
        cancel: threading.Event | None = None,
        repeatable: bool = False,
    ) -> Any:
        """Send one request with retries; returns the decoded JSON answer.

        Setting `cancel` ends the retries: the last error is raised instead of waiting.
        `repeatable` says that a POST may be repeated when its answer was lost, as a GET
        always may: it creates nothing that a second one would duplicate."""
        settings = self.settings
        url = settings.base_url + path
        data = None if body is None else json.dumps(body, separators=(",", ":"))

        def attempt() -> Any:
            try:
                response, whole = self.exchange(
                    self.session, method, url, limit=MAX_ANSWER_BYTES, data=data, params=params
                )
            except requests.exceptions.RequestException as exc:
                # Only a failure before the request left, or a read-only request, is
                # retryable: otherwise Bird may have accepted it, and a repeat could send it
                # twice.
                raise _transport_error(
                    exc, method, url, settings.read_timeout, repeatable=repeatable
                ) from None
            if response.status_code < 300:
                return _decode(response, method, path, whole)
            raise _error_from_response(response, method, path, origin=settings.origin)

        limiter = self._limiters.get(method)
        return self.retrying(
            attempt, cancel=cancel, limiter=limiter, method=method, what=f"{method} {path}"
        )

    def retrying(
        self,
        attempt: Callable[[], T],
        *,
        cancel: threading.Event | None = None,
        limiter: RateLimiter | None = None,
        method: str | None = None,
        what: str = "a request",
    ) -> T:
        """`attempt()`, made again after a wait for as long as it raises a BirdError worth
        repeating: a retryable one that carries no HTTP status, or one of RETRY_STATUSES.
        The one retry loop of the client: every request to Bird and every upload.

        A 429 (BirdRateLimitError) is repeated at the pace `limiter` slowed to, for as long
        as the connection's patience lasts, as Bird did not process it; any other failure
        after a jittered backoff, at most `max_retries` times. Setting `cancel` ends the
        waits: the last error is raised. With a `limiter`, each attempt first takes its
        slot (`method` names the request cancelled while it waited for its first). Each
        retry is logged, naming `what` failed, why, and when the next try is."""
        settings = self.settings
        last_error: BirdError | None = None
        failures = 0  # other than 429s
        throttled_since: float | None = None
        held_back = 0.0  # by the limiter, after the last 429
        this = object()  # this request, to the retry log
        while True:
            if last_error is not None:
                if isinstance(last_error, BirdRateLimitError):
                    # Bird did not process it: always safe to repeat, at the pace the limiter
                    # slowed to, for as long as the patience lasts.
                    now = time.monotonic()
                    throttled_since = throttled_since or now
                    if now - throttled_since > settings.rate_limit_patience:
                        raise last_error
                    delay = max(
                        held_back, min(settings.retry_after_max, last_error.retry_after or 0.0)
                    )
                    count = f"trying again (429s for up to {settings.rate_limit_patience:g} s)"
                else:
                    failures += 1
                    if failures > settings.max_retries:
                        raise last_error
                    delay = self.backoff(failures - 1)
                    count = f"retry {failures} of {settings.max_retries}"
                reason = retry_reason(last_error)
                self.figures.add(retried=1)
                waited_from = time.monotonic()
                RETRY_LOG.say(
                    reason, this, "%s failed (%s): %s in %.1f s", what, reason, count, delay
                )
                # The wait, saying so at least every WAIT_LOG_INTERVAL.
                end = time.monotonic() + delay
                while (left := end - time.monotonic()) > 0:
                    if cancel is None:
                        time.sleep(min(left, WAIT_LOG_INTERVAL))
                    elif cancel.wait(min(left, WAIT_LOG_INTERVAL)):
                        raise last_error
                    left = end - time.monotonic()
                    if left > 0.1:
                        RETRY_LOG.say(
                            f"waiting: {reason}",
                            this,
                            "%s: still waiting (%s); next try in %.1f s",
                            what,
                            reason,
                            left,
                        )
                if isinstance(last_error, BirdRateLimitError):
                    self.figures.add(waited=time.monotonic() - waited_from)
            if limiter is not None:
                turn_from = time.monotonic()
                if not limiter.acquire(cancel):
                    raise last_error or BirdError("cancelled before it was sent", method=method)
                self.figures.add(waited=time.monotonic() - turn_from)
            try:
                return attempt()
            except BirdError as exc:
                if not _worth_repeating(exc):
                    raise
                last_error = exc
            if isinstance(last_error, BirdRateLimitError):
                self.figures.add(throttled=1)
                if limiter is not None:
                    held_back = limiter.throttled()

    # -- Bird endpoints --------------------------------------------------------------------

    def _channel_path(self, channel_id: str, suffix: str = "") -> str:
        return self._workspace_path(f"/channels/{_path_id(channel_id, 'channel_id')}{suffix}")

    def send_message(
        self, channel_id: str, message: dict, *, cancel: threading.Event | None = None
    ) -> dict:
        """POST one CreateMessage body; Bird's message object (status ``accepted``)."""
        path = self._channel_path(channel_id, "/messages")
        return self.request("POST", path, body=message, cancel=cancel)

    def send_batch(
        self, channel_id: str, messages: list[dict], *, cancel: threading.Event | None = None
    ) -> dict:
        """POST up to 100 CreateMessage bodies at once; ``{"batchId": ...}``."""
        if not 1 <= len(messages) <= MAX_BATCH_SIZE:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_SIZE} messages, got {len(messages)}")
        path = self._channel_path(channel_id, "/batch/messages")
        return self.request("POST", path, body={"messageRequests": messages}, cancel=cancel)

    def presign_upload(self, channel_id: str, content_type: str) -> dict:
        """Ask Bird where to upload a file of `content_type` for this channel's messages:
        ``{"mediaUrl", "uploadUrl", "uploadMethod", "uploadFormData"}`` (see ``bird.upload``).
        Repeatable: an upload slot left unused sends nothing."""
        path = self._channel_path(channel_id, "/presigned-upload")
        return self.request("POST", path, body={"contentType": content_type}, repeatable=True)

    def get_channel(self, channel_id: str) -> dict:
        return self.request("GET", self._channel_path(channel_id))

    def list_channels(self, limit: int = 10) -> dict:
        return self.request("GET", self._workspace_path("/channels"), params={"limit": limit})

    def get_message(
        self, channel_id: str, message_id: str, *, cancel: threading.Event | None = None
    ) -> dict:
        path = self._channel_path(channel_id, f"/messages/{_path_id(message_id, 'message_id')}")
        return self.request("GET", path, cancel=cancel)

    def webhook_subscriptions_path(self, subscription_id: str | None = None) -> str:
        """The path of the workspace's webhook subscriptions (a listing, for :meth:`pages`),
        or of one of them."""
        suffix = "" if subscription_id is None else f"/{_path_id(subscription_id, 'id')}"
        return self._workspace_path(f"/webhook-subscriptions{suffix}")

    def create_webhook_subscription(self, subscription: dict) -> dict:
        """POST a webhook subscription (``bird.webhooks.subscription``); Bird's object."""
        return self.request("POST", self.webhook_subscriptions_path(), body=subscription)

    def delete_webhook_subscription(self, subscription_id: str) -> None:
        self.request("DELETE", self.webhook_subscriptions_path(subscription_id))

    def messages_path(self, channel_id: str) -> str:
        """The path of the channel's messages (and their listing, for :meth:`pages`)."""
        return self._channel_path(channel_id, "/messages")

    def interactions_path(self, channel_id: str, message_id: str) -> str:
        """The path of a message's interactions (a listing, for :meth:`pages`)."""
        message = _path_id(message_id, "message_id")
        return self._channel_path(channel_id, f"/messages/{message}/interactions")

    def pages(
        self,
        path: str,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = MAX_LIST_LIMIT,
        max_pages: int | None = None,
        full_page: Literal["probe", "end"] = "probe",
        results: Literal["raise", "empty"] = "raise",
        page_token: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Page]:
        """The listing at `path` (``messages_path``, ``interactions_path``) matching
        `filters`, one page (a list) at a time in Bird's order, `limit` items a page (None:
        Bird's own page size), to the end of the listing; from `page_token` (a page's
        ``next_token``) on when given. The only reader of NEXT_PAGE_FIELD.

        By default it never takes an unclear answer for the end: an answer without a
        `results` list of objects, a page beyond `max_pages`, or a full page naming no next
        page where nothing shows that Bird names next pages in NEXT_PAGE_FIELD raise
        BirdListingUnclearError, so that what was not seen is never taken for absent. A
        listing that ends on a page boundary gives a full last page without a next one: that
        is its end once the field is known to be right (`full_page` "probe"): an earlier page
        of this listing named its next page in it, or the same page asked for with one item
        less does.

        A reader for whom "not listed yet" is an answer (a status wait) may ask for less:
        `results` "empty" takes an answer without a `results` list for an empty page, and
        `full_page` "end" a full page without a next one for the end."""
        if full_page == "probe" and limit is None:
            raise ValueError("telling the end of a full page needs a page `limit`")
        what = path.rpartition("/")[2]  # "messages", "interactions": what the errors name
        params = {} if limit is None else {"limit": limit}
        params.update(filters or {})
        if page_token is not None:
            params["pageToken"] = page_token
        read = 0
        # A page of this listing named its next page in NEXT_PAGE_FIELD (a given page_token is
        # one such name).
        field_seen = page_token is not None
        while True:
            if max_pages is not None and read >= max_pages:
                size = "" if limit is None else f"{limit} "
                raise BirdListingUnclearError(
                    f"more than {max_pages} pages of {size}{what}: the listing was not read to "
                    "its end",
                    method="GET",
                    path=path,
                )
            answer = self.request("GET", path, params=params, cancel=cancel)
            found = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(found, list) or (
                results == "raise" and not all(isinstance(m, dict) for m in found)
            ):
                if results == "raise":
                    raise BirdListingUnclearError(
                        f"an answer held no `results` list of {what}", method="GET", path=path
                    )
                found = []
            read += 1
            token = _next_page_token(answer)
            yield Page(found, token)
            if token is None:
                if full_page == "end" or len(found) < limit or field_seen:
                    return  # a short page, or a full one where the field is known: the end
                if self._names_next_page(path, params, cancel):
                    return
                raise BirdListingUnclearError(
                    f"a full page ({len(found)} {what}) named no next page in "
                    f"`{NEXT_PAGE_FIELD}`, nor did the same page with a limit of {limit - 1}, "
                    "so whether more follow cannot be told (Bird may name its next page in "
                    "another field)",
                    method="GET",
                    path=path,
                )
            field_seen = True
            params["pageToken"] = token

    def _names_next_page(self, path: str, params: dict, cancel: threading.Event | None) -> bool:
        """Whether the page `params` ask for, asked for one item less, names its next page
        in NEXT_PAGE_FIELD: it must, since the full page showed one more item, if that is
        where Bird names it."""
        fewer = {**params, "limit": params["limit"] - 1}
        answer = self.request("GET", path, params=fewer, cancel=cancel)
        return _next_page_token(answer) is not None


def _next_page_token(answer: Any) -> str | None:
    """The token of the page after `answer` in a listing, None where it names none."""
    token = answer.get(NEXT_PAGE_FIELD) if isinstance(answer, dict) else None
    return token if isinstance(token, str) and token else None


class RetryLog:
    """What the retry loop says: each retry of one request, but for other requests failing
    for the same reason at most a line per `interval` (many requests in flight fail
    together, and the log says how many, not each)."""

    def __init__(self, interval: float = RETRY_LOG_INTERVAL):
        self.interval = interval
        self.lock = threading.Lock()
        self.last: dict[str, tuple[float, object]] = {}
        self.unsaid: Counter[str] = Counter()

    def say(self, reason: str, request: object, text: str, *args: Any) -> None:
        """Log `text` for `request` (one retry loop's own object) retried for `reason`."""
        now = time.monotonic()
        with self.lock:
            said_at, said_for = self.last.get(reason, (-math.inf, None))
            if now - said_at < self.interval and request is not said_for:
                self.unsaid[reason] += 1
                return
            self.last[reason] = (now, request)
            unsaid = self.unsaid.pop(reason, 0)
        if unsaid:
            text, args = f"{text} (and %d more for this reason since)", (*args, unsaid)
        log.warning(text, *args)

    def flush(self) -> None:
        """Say how many retries were left unsaid, for each reason (a client's last words)."""
        with self.lock:
            unsaid, self.unsaid = dict(self.unsaid), Counter()
        for reason, count in sorted(unsaid.items()):
            log.warning("... and %d more for this reason (%s), each retried", count, reason)


RETRY_LOG = RetryLog()


class RequestFigures:
    """What a client's requests met, for the provider's metrics: 429 answers (`throttled`),
    requests made again (`retried`), and seconds spent waiting for the rate limit
    (`waited`: each request's turn, and the waits after 429s). Thread-safe; `take` reads and
    resets them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.throttled = self.retried = 0
        self.waited = 0.0

    def add(self, *, throttled: int = 0, retried: int = 0, waited: float = 0.0) -> None:
        with self._lock:
            self.throttled += throttled
            self.retried += retried
            self.waited += waited

    def take(self) -> dict[str, float]:
        with self._lock:
            taken = {"throttled": self.throttled, "retried": self.retried, "waited": self.waited}
            self.throttled = self.retried = 0
            self.waited = 0.0
        return taken


def retry_reason(error: BirdError) -> str:
    """Why a request is retried, in a few words: Bird's status, or what failed without one
    (never Bird's message, which may quote a number)."""
    if error.status:
        return f"HTTP {error.status}"
    return error.message.split(";")[0].split(" (")[0]


def _worth_repeating(error: BirdError) -> bool:
    """Whether the retry loop makes a request again after `error`: a retryable failure with
    no HTTP answer, or an answer of RETRY_STATUSES (a 501 is retryable later, by Airflow,
    not at once)."""
    return error.retryable and (error.status is None or error.status in RETRY_STATUSES)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps (requests wraps urllib3, which wraps socket errors)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _path_id(value: Any, field: str) -> str:
    """An id that becomes a path segment."""
    return checked_uuid(value, field)


def describe_failure(
    exc: requests.exceptions.RequestException, read_timeout: float
) -> tuple[str, str, type[BirdError] | None]:
    """What failed when no whole answer came; the exception types (only their names: their
    messages can quote request headers, and so the access key); and, when the request
    surely never left, the error class that says so."""
    causes = list(_causes(exc))
    names = " < ".join(dict.fromkeys(type(c).__name__ for c in causes))
    reason = _connect_failure(causes)
    if reason is not None:
        return f"could not connect: {reason}; the request was not sent", names, BirdConnectionError
    if isinstance(exc, requests.exceptions.SSLError):
        what = "the TLS handshake failed (is the host's scheme right?); the request was not sent"
        return what, names, BirdError
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return "the request could not be made", names, BirdError
    deadline = next((c for c in causes if isinstance(c, AnswerDeadlineError)), None)
    if deadline is not None:
        what = str(deadline)
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        what = f"no answer within {read_timeout:g}s"
    elif isinstance(exc, requests.exceptions.TooManyRedirects):
        what = f"the answers kept redirecting (more than {requests.models.DEFAULT_REDIRECT_LIMIT})"
    else:
        what = "the connection broke before an answer arrived"
    return what, names, None


def _transport_error(
    exc: requests.exceptions.RequestException,
    method: str,
    url: str,
    read_timeout: float,
    *,
    repeatable: bool = False,
) -> BirdError:
    """Classify a failure with no whole HTTP answer, naming the URL tried and what failed."""
    what, names, unsent = describe_failure(exc, read_timeout)
    if unsent is not None:
        return unsent(f"{what} ({names})", method=method, path=url)
    if method == "GET" or repeatable:
        # A read changes nothing at Bird: safe to repeat, and worth an Airflow retry.
        return BirdConnectionError(f"{what} ({names})", method=method, path=url)
    return BirdAmbiguousError(
        f"{what}; Bird may have accepted the request, so it is not repeated automatically "
        f"({names})",
        method=method,
        path=url,
    )


def _connect_failure(causes: list[BaseException]) -> str | None:
    """Why no connection could be made, when none could."""
    if not any(isinstance(c, NewConnectionError | ConnectTimeoutError) for c in causes):
        return None
    if any(isinstance(c, NameResolutionError | socket.gaierror) for c in causes):
        return "the host name could not be resolved (DNS)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "the connection was refused (nothing listens on that host and port)"
    if any(isinstance(c, ConnectTimeoutError | TimeoutError) for c in causes):
        return "connecting timed out"
    return "the network could not reach the host"


def _read_answer(response: requests.Response, limit: int) -> bool:
    """Read the body into `response.content`, at most `limit` bytes; whether that was all
    of it (if not, the connection is closed, the rest unread). Bodies are counted decoded,
    and urllib3 decodes no more than it is asked for, so a compressed one is bounded too."""
    chunks = []
    size = 0
    raw = response.raw
    try:
        while chunk := raw.read1(min(65536, limit + 1 - size), decode_content=True):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                response.close()
                chunks[-1] = chunk[: len(chunk) - (size - limit)]
                break
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    response._content = b"".join(chunks)  # what `response.content` would have read
    response._content_consumed = True
    if size > limit:
        return False
    raw.release_conn()
    return True


def _decode(response: requests.Response, method: str, path: str, whole: bool) -> Any:
    if whole:
        try:
            return response.json() if response.content else {}
        except ValueError:
            pass
    if method == "POST":
        # A 2xx means Bird accepted it, readable answer or not; never send it again.
        return {}
    problem = "is not JSON" if whole else f"is longer than {MAX_ANSWER_BYTES:,} bytes: not read"
    raise BirdError(f"HTTP {response.status_code} answer {problem}", method=method, path=path)


def _error_from_response(
    response: requests.Response, method: str, path: str, *, origin: str = "the connection"
) -> BirdError:
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    message = payload.get("message") or response.reason or "no message"
    kwargs: dict[str, Any] = {
        "status": response.status_code,
        "code": payload.get("code"),
        "details": payload.get("details"),
        "method": method,
        "path": path,
    }
    cls = error_for_status(response.status_code)
    # A blocked destination is that recipient's alone, whatever the status (a 403 would
    # otherwise read as a wrong access key, and stop the send).
    refused = 400 <= response.status_code < 500 and not cls.retryable
    if refused and names_blocked_destination(kwargs["code"], message):
        cls = BirdDestinationBlockedError
    if cls is BirdRateLimitError:
        kwargs["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    message = str(message)
    if cls is BirdAuthenticationError:
        refused = "refused" if response.status_code == 401 else "does not allow this to"
        message += (
            f" (Bird {refused} the access key of {origin}: check its password field, which "
            "holds the key, and the workspace's permissions)"
        )
    return cls(message, **kwargs)
