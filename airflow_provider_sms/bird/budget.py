"""A workspace's request budget shared by every sender on every host, kept in Redis (the
store a Celery deployment already runs): one timeline of request slots per workspace and
method, advanced atomically by a Lua script on Redis's own clock (GCRA with no burst).

The store only ever speeds nothing up: when it cannot be reached, answers slowly or
misbehaves, this process stops using it for a while (said once) and its requests go on
under the host's slots and Bird's 429s, as without it. However it behaves, it holds a request
up by at most `SharedBudget.CALL_DEADLINE` for its answer plus `SharedBudget.MAX_AHEAD` for
the slot it gives.

The store is spoken to here, in RESP2, rather than through redis-py: redis-py bounds each read
of a socket but not a whole call (an answer trickled a byte at a time never ends), reads an
answer of any size into memory, and lets a URL's options replace its timeouts. One call here
has one deadline, and only the few short answers the budget asks for are read."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote

log = logging.getLogger(__name__)

# The URL schemes a Redis client connects by.
SCHEMES = ("redis", "rediss", "unix")
DEFAULT_PORT = 6379

# KEYS[1] the timeline; ARGV: interval, longest credible lead, key lifetime (microseconds).
# Returns microseconds until the slot taken. A lead beyond the credible one is a timeline left
# by a far faster sender (or a restored snapshot): start over from now.
_TAKE_SLOT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local following = tonumber(redis.call('GET', KEYS[1]) or '0')
if following < now or following > now + tonumber(ARGV[2]) then
  following = now
end
redis.call('SET', KEYS[1], string.format('%d', following + tonumber(ARGV[1])),
           'PX', math.floor(tonumber(ARGV[3]) / 1000))
return following - now
"""

# The longest answer line the budget reads: an integer, OK, or an error's first words.
_MAX_LINE = 512
_ERROR_CODE = re.compile(r"[A-Z]{2,20}")
_HOST_NAME = re.compile(r"[A-Za-z0-9._-]{1,253}")
# Options of a redis-py URL this client honours; the others (timeouts, pools, retries) are
# not used: the budget's own bounds hold whatever a URL says.
_TLS_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
_CERT_REQS = {
    "none": ssl.CERT_NONE,
    "cert_none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "cert_optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
    "cert_required": ssl.CERT_REQUIRED,
}


class StoreUrlError(ValueError):
    """A Redis URL that cannot be used; the message shows no part of the URL."""


@dataclass(frozen=True)
class StoreAddress:
    """Where a Redis is and how to log in, from its URL."""

    scheme: str
    host: str | None = None
    port: int = DEFAULT_PORT
    socket_path: str | None = None
    db: int = 0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    tls: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """The address as logs may show it: no user, no password, no options."""
        if self.socket_path is not None:
            return f"unix:{self.socket_path}"
        host = f"[{self.host}]" if ":" in (self.host or "") else self.host
        return f"{self.scheme}://{host}:{self.port}/{self.db}"


def _split_credentials(url: str) -> tuple[str, str | None, str | None, str]:
    """(scheme, user as written, password as written, the rest) of a URL; never raises.

    The credentials end at the last `@`: a password holding an unencoded `/`, `?` or `#`
    still counts as one, wherever a stricter parser would end the host."""
    scheme, _, rest = url.partition("://")
    userinfo, at, location = rest.rpartition("@")
    if not at:
        return scheme, None, None, rest
    user, colon, password = userinfo.partition(":")
    if not colon and any(c in user for c in "/?#"):
        # No user name holds these: a password written without its colon.
        return scheme, None, user, location
    return scheme, user, password if colon else None, location


def parse_store_url(url: str, password: str | None = None) -> StoreAddress:
    """The address of a `redis://`, `rediss://` or `unix://` URL (redis-py's forms), logging
    in with `password` unless the URL holds one. Errors show no part of the URL."""
    text = url.strip()
    if any(c.isspace() or c == "\\" or ord(c) < 32 for c in text):
        raise StoreUrlError("contains spaces, backslashes or control characters")
    if "://" not in text or text.partition("://")[0].lower() not in SCHEMES:
        raise StoreUrlError("must be a redis://, rediss:// or unix:// URL")
    scheme, user, written, location = _split_credentials(text)
    scheme = scheme.lower()
    location, hashmark, _ = location.partition("#")
    if hashmark:
        raise StoreUrlError("has a fragment (#...), which means nothing to Redis")
    location, _, query = location.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True))  # values decoded
    user = unquote(user) if user else options.get("username") or None
    password = options.get("password") or (unquote(written) if written else None) or password
    if scheme == "unix":
        if not location.startswith("/"):
            raise StoreUrlError("names no socket path, as in unix:///run/redis/redis.sock")
        return StoreAddress(
            scheme,
            socket_path=unquote(location),
            db=_db(None, options.get("db")),
            username=user,
            password=password or None,
        )
    authority, slash, path = location.partition("/")
    host, port = _host_and_port(authority)
    tls = {name: options[name] for name in _TLS_OPTIONS if options.get(name)}
    if scheme == "rediss":
        _cert_reqs(tls)  # checked now; the files are read when connecting
    return StoreAddress(
        scheme,
        host=host,
        port=port,
        db=_db(path if slash else None, options.get("db")),
        username=user,
        password=password or None,
        tls=tls,
    )


def _host_and_port(authority: str) -> tuple[str, int]:
    if authority.startswith("["):
        address, bracket, after = authority[1:].partition("]")
        try:
            host = str(ipaddress.IPv6Address(address)) if bracket else None
        except ValueError:
            host = None
        if host is None:
            raise StoreUrlError("holds an IPv6 address in brackets that is not one")
        if after and not after.startswith(":"):
            raise StoreUrlError("has text after its IPv6 address's closing bracket")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text = authority.rpartition(":")
        if not colon:
            host, port_text = authority, None
        if ":" in host:
            raise StoreUrlError("holds an IPv6 address without brackets, as in [::1]:6379")
        if not host:
            raise StoreUrlError("names no host")
        if not _HOST_NAME.fullmatch(host):
            raise StoreUrlError("holds characters no host name has")
    if port_text is None:
        return host, DEFAULT_PORT
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise StoreUrlError("has a port that is not a number from 1 to 65535")
    return host, int(port_text)


def _db(path: str | None, option: str | None) -> int:
    given = [text for text in (path, option) if text]
    if len(given) > 1:
        raise StoreUrlError("gives the database twice, in its path and as ?db=")
    text = given[0] if given else "0"
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise StoreUrlError("has a path that is not a database number, as in /0")
    return int(text)


def _cert_reqs(options: dict[str, str]) -> ssl.VerifyMode:
    reqs = options.get("ssl_cert_reqs", "required").lower()
    if reqs not in _CERT_REQS:
        raise StoreUrlError("has an ssl_cert_reqs other than none, optional or required")
    return _CERT_REQS[reqs]


def _tls_context(options: dict[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    mode = _cert_reqs(options)
    if mode != ssl.CERT_REQUIRED:
        context.check_hostname = False
    context.verify_mode = mode
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    return context


def url_password(url: str) -> str | None:
    """The password a Redis URL holds (as written), in its user information or as
    ?password=; None when it holds none."""
    _, _, written, location = _split_credentials(url.strip())
    query = location.partition("#")[0].partition("?")[2]
    return dict(parse_qsl(query, keep_blank_values=True)).get("password") or written or None


def secret_forms(*secrets: str | None) -> set[str]:
    """Each secret as written, percent-decoded and percent-encoded: the forms a store, a
    library or a log may show it in."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update((secret, unquote(secret), quote(secret, safe="")))
    return {form for form in forms if form}


def describe(url: str) -> str:
    """The store's address as logs may show it: no user, no password; never raises."""
    try:
        return parse_store_url(url).describe()
    except StoreUrlError:
        return "a Redis URL that cannot be parsed"


class StoreMisbehaves(Exception):
    """The store answered what no Redis running the budget's script answers."""


class _Connection:
    """One connection to the store; every call on it ends by the deadline it is given."""

    def __init__(self, address: StoreAddress, tls: ssl.SSLContext | None, deadline: float):
        if address.socket_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(_wait(deadline))
            try:
                sock.connect(address.socket_path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = _connect_tcp(address.host, address.port, deadline)
            if tls is not None:
                sock.settimeout(_wait(deadline))
                sock = tls.wrap_socket(sock, server_hostname=address.host)
        self.sock = sock
        self.buffer = b""
        try:
            if address.password:
                login = [address.username] if address.username else []
                self.expect_ok(deadline, "AUTH", *login, address.password)
            if address.db:
                self.expect_ok(deadline, "SELECT", str(address.db))
        except BaseException:
            self.close()
            raise

    def call(self, deadline: float, *args: str) -> bytes:
        """One command's answer line (its type byte first); errors raised."""
        encoded = [a.encode() for a in args]
        request = b"*%d\r\n" % len(encoded) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded
        )
        self.sock.settimeout(_wait(deadline))
        self.sock.sendall(request)
        line = self._line(deadline)
        if line.startswith(b"-"):
            raise StoreRefused(line[1:])
        return line

    def expect_ok(self, deadline: float, *args: str) -> None:
        if self.call(deadline, *args) != b"+OK":
            raise StoreMisbehaves(f"{args[0]} was not answered OK")

    def _line(self, deadline: float) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > _MAX_LINE:
                raise StoreMisbehaves("an answer longer than any the budget asks for")
            self.sock.settimeout(_wait(deadline))
            chunk = self.sock.recv(_MAX_LINE)
            if not chunk:
                raise ConnectionError("the store closed the connection")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def close(self) -> None:
        self.sock.close()


class StoreRefused(Exception):
    """The store answered an error; only its code (WRONGPASS, NOAUTH...) is kept, as the rest
    is the store's text and could quote anything."""

    def __init__(self, line: bytes):
        first = line.split(b" ", 1)[0].decode("ascii", "replace")
        self.code = first if _ERROR_CODE.fullmatch(first) else "an error"
        super().__init__(f"answered {self.code}")


def _connect_tcp(host: str, port: int, deadline: float) -> socket.socket:
    """A TCP connection to the first of the host's addresses that takes one, all of them
    within the one deadline (socket.create_connection gives each its own timeout)."""
    failure: OSError = OSError("the host name resolved to no address")
    for family, kind, protocol, _, address in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(_wait(deadline))
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            sock.close()
            failure = exc
    raise failure


def _wait(deadline: float) -> float:
    """How long the next wait on the socket may last: `TIMEOUT` (timed by the kernel, so a
    busy process is not taken for a silent store), never past the call's `deadline`."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"no whole answer within {SharedBudget.CALL_DEADLINE:g} s")
    return min(left, SharedBudget.TIMEOUT)


class SharedBudget:
    """The slots of one workspace's limit for one method, taken by every process of every
    host that uses the same store. `reserve` answers within `CALL_DEADLINE` seconds, with a
    wait of at most `MAX_AHEAD` seconds, or not at all."""

    # Credible lead: no sender waits this long for its slot unless something is wrong (a
    # timeline that far ahead means over 900 POSTs queued across every host).
    MAX_AHEAD = 2.0
    # A loopback or LAN Redis answers in well under a millisecond: silent for longer than
    # TIMEOUT is a store in trouble, and so is a whole call (connecting included) longer than
    # CALL_DEADLINE, however its answer trickles in. A send must not wait on it.
    TIMEOUT = 0.25
    CALL_DEADLINE = 1.0
    # After a failure, how long this process sends without the store before trying it again.
    RETRY_AFTER = 30.0
    KEY_LIFETIME = 60.0

    _open: dict[tuple[str, str, str | None], SharedBudget] = {}
    _open_lock = threading.Lock()

    def __init__(self, url: str, key: str, password: str | None = None):
        self.url = url
        self.where = describe(url)
        self.key = "airflow-provider-sms:budget:" + hashlib.sha256(key.encode()).hexdigest()[:24]
        self._secrets = secret_forms(password, url_password(url))
        self._address: StoreAddress | None = None
        self._tls: ssl.SSLContext | None = None
        self._idle: list[_Connection] = []
        self._pid = os.getpid()
        self._announced = False
        self._off_until = 0.0
        self._lock = threading.Lock()
        try:
            self._address = parse_store_url(url, password)
        except StoreUrlError as exc:
            self._unusable(exc, for_good=True)

    @classmethod
    def for_store(cls, url: str, key: str, password: str | None = None) -> SharedBudget:
        """One budget per store and key in this process (they share its connections)."""
        with cls._open_lock:
            budget = cls._open.get((url, key, password))
            if budget is None:
                budget = cls._open[(url, key, password)] = cls(url, key, password)
            return budget

    def usable(self) -> bool:
        return time.monotonic() >= self._off_until

    def reserve(self, interval: float) -> float | None:
        """Take the next slot, `interval` after the one before on every host: seconds
        until it comes, or None when the store cannot be used now."""
        seconds = (interval, self.MAX_AHEAD, self.KEY_LIFETIME)
        answer = self.run(_TAKE_SLOT, self.key, *(str(int(s * 1e6)) for s in seconds))
        if answer is None:
            return None
        wait = answer / 1e6
        if not 0 <= wait <= self.MAX_AHEAD:
            self._unusable(
                StoreMisbehaves(
                    f"a wait of {wait:.6g} s, outside the 0-{self.MAX_AHEAD:g} s its script gives"
                )
            )
            return None
        with self._lock:
            announce, self._announced = not self._announced, True
        if announce:
            log.info(
                "Requests to this workspace take turns with every host's in Redis at %s",
                self.where,
            )
        return wait

    def run(self, script: str, key: str, *args: str) -> int | None:
        """One of the provider's Lua scripts on `key`, within `CALL_DEADLINE`: its whole
        number, or None when the store cannot be used now (then it is left alone for a
        while, said once)."""
        if not self.usable():
            return None
        deadline = time.monotonic() + self.CALL_DEADLINE
        connection = None
        try:
            connection = self._connection(deadline)
            sha = _sha(script)
            try:
                answer = connection.call(deadline, "EVALSHA", sha, "1", key, *args)
            except StoreRefused as exc:
                if exc.code != "NOSCRIPT":
                    raise
                answer = connection.call(deadline, "EVAL", script, "1", key, *args)
            number = _microseconds(answer)
        except Exception as exc:  # noqa: BLE001 - any failure of the store means: go on without
            if connection is not None:
                connection.close()
            self._unusable(exc)
            return None
        with self._lock:
            self._idle.append(connection)
        return number

    def _connection(self, deadline: float) -> _Connection:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child must not read answers meant for its parent.
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop()
            if self._address.scheme == "rediss" and self._tls is None:
                self._tls = _tls_context(self._address.tls)
        return _Connection(self._address, self._tls, deadline)

    def _unusable(self, exc: Exception, *, for_good: bool = False) -> None:
        self._off_until = float("inf") if for_good else time.monotonic() + self.RETRY_AFTER
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
        later = "" if for_good else f" for {self.RETRY_AFTER:g} s"
        _say_once(
            f"The rate budget shared across hosts in Redis at {self.where} cannot be used"
            f"{later} ({type(exc).__name__}: {_reason(exc, self._secrets)}); requests go on "
            "without it, under this host's shared limit and slowing down on Bird's 429s"
        )

    @classmethod
    def _forget_all(cls) -> None:
        cls._open = {}
        cls._open_lock = threading.Lock()


@functools.cache
def _sha(script: str) -> str:
    """The name Redis knows a script by (EVALSHA), once per script: `run` is on every
    request's path."""
    return hashlib.sha1(script.encode()).hexdigest()


def _microseconds(answer: bytes) -> int:
    if not answer.startswith(b":") or len(answer) > 21:
        raise StoreMisbehaves("an answer that is not the script's whole number")
    try:
        return int(answer[1:])
    except ValueError:
        raise StoreMisbehaves("an answer that is not the script's whole number") from None


def _reason(exc: Exception, secrets: set[str]) -> str:
    """The error's text without the store's credentials, in any of their forms."""
    text = str(exc)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text[:200]


class _Said:
    done = False


_said = _Said()


def _say_once(message: str) -> None:
    if _said.done:
        return
    _said.done = True
    log.warning(message)


def _after_fork() -> None:
    # A forked child starts with its own connections.
    SharedBudget._forget_all()
    _said.done = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
