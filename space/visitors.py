"""Who flagged, and how often: the ``client`` of a flag record and the per-client rate limits.

A flag's ``client`` is ``hf:<username>`` when the visitor signed in with Hugging Face, else
``anon:<16 hex>``: an HMAC-SHA256 of the client address keyed with a secret salt. The address itself
is never stored. The hash only has to tell visitors apart (one vote per client, rate limits); it
cannot be reversed without the salt, which is why the salt must be a Space *secret*: an IPv4 address
has only 2^32 values, so a known salt would let anyone recover it by trying them all.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import flags

logger = logging.getLogger(__name__)

MINUTE, DAY = 60.0, 24 * 60 * 60.0
DEFAULT_PER_MINUTE = 10  # a person fixing mistakes by hand flags a few a minute at most
DEFAULT_PER_DAY = 100
# Explanations a visitor may ask for (space/explain_view.py): a person reads each one.
EXPLAIN_PER_MINUTE, EXPLAIN_PER_DAY = 20, 500


class RateLimiter:
    """Sliding-window limits per client: at most ``per_minute`` flags in any 60 s and ``per_day`` in any 24 h.

    Thread-safe: the check and the booking of a flag happen under one lock, so threads racing on one
    client can never pass more flags than the limit.

    Args:
        per_minute: flags per client per minute (0: no limit).
        per_day: flags per client per day (0: no limit).
        clock: seconds, monotonic (a test may pass its own).
    """

    def __init__(self, per_minute: int, per_day: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.per_day, self.clock = per_minute, per_day, clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str) -> str | None:
        """Book one flag for ``client``; return None when allowed, else the message to show."""
        with self._lock:
            now = self.clock()
            times = self._times.setdefault(client, deque())
            while times and times[0] <= now - DAY:
                times.popleft()
            last_minute = sum(1 for t in reversed(times) if t > now - MINUTE)  # times are in order: newest last
            if self.per_minute and last_minute >= self.per_minute:
                return (
                    f"Thanks for all the flags! You have sent {self.per_minute} in the last minute, the most we take "
                    "from one visitor: please wait a minute and flag again."
                )
            if self.per_day and len(times) >= self.per_day:
                return (
                    f"Thanks for all the flags! You have sent {self.per_day} today, the most we take from one visitor "
                    "in a day: please come back tomorrow."
                )
            times.append(now)
            return None

    def restore(self, flags_ago: Iterable[tuple[str, float]]) -> None:
        """Book flags sent before this process started: ``(client, seconds ago)`` pairs, e.g. from the flag
        store's records (:func:`restore_limits`). Those older than a day are ignored; one dated in the future
        (the clock moved back) counts as sent now."""
        with self._lock:
            now = self.clock()
            for client, ago in sorted(flags_ago, key=lambda flag: -flag[1]):  # oldest first: deques stay in order
                if ago < DAY:
                    self._times.setdefault(client, deque()).append(now - max(ago, 0.0))

    def release(self, client: str) -> None:
        """Give back the flag just booked for ``client`` (its write failed, so it was never saved)."""
        with self._lock:
            if self._times.get(client):
                self._times[client].pop()


@dataclass
class Visitors:
    """The flag policy of the Space: client ids, rate limits, and whether flagging needs sign-in.

    Args:
        salt: the key of the address hash.
        limiter: per-client rate limits.
        require_login: flagging needs a Hugging Face sign-in.
        salt_is_random: no secret salt was configured (hashes change when the process restarts).
        explain_limiter: per-client limits of explanations (/explain and the page's).
    """

    salt: bytes
    limiter: RateLimiter
    require_login: bool = False
    salt_is_random: bool = False
    notes: list[str] = field(default_factory=list)  # advice for the operator: logged at start-up, never on the page
    explain_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(EXPLAIN_PER_MINUTE, EXPLAIN_PER_DAY))

    def client_id(self, username: str | None, address: str | None) -> str:
        """``hf:<username>`` when signed in, else the salted hash of the client address (:func:`address_key`)."""
        if username:
            return f"hf:{username}"
        key = address_key(address) if address else "unknown"
        digest = hmac.new(self.salt, key.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"anon:{digest[:16]}"

    def policy_line(self, sign_in: bool) -> str:
        """One line for the page: who may flag and how often (``sign_in``: the page has the sign-in button)."""
        limits = []
        if self.limiter.per_minute:
            limits.append(f"{self.limiter.per_minute} flags a minute")
        if self.limiter.per_day:
            limits.append(f"{self.limiter.per_day} a day")
        how_often = f" You can send up to {' and '.join(limits)}." if limits else ""
        if self.require_login:
            who = "Sign in with Hugging Face to flag."
        elif sign_in:
            who = "Anyone can flag; if you sign in with Hugging Face, your flags carry your username."
        else:
            who = "Anyone can flag, anonymously."
        return f"{who}{how_often}"


def restore_limits(limiter: RateLimiter, sent: Iterable[tuple[str, datetime]], now: datetime | None = None) -> str:
    """Rebuild each client's counts for the last day from the flags they sent (``(client, UTC time)`` pairs,
    from :func:`flag_times`), so that a restart does not give every client a fresh
    allowance; returns a line for the log.

    An anonymous client is the same client after a restart only with a fixed FLAG_CLIENT_SALT.
    """
    now = now or datetime.now(timezone.utc)
    flags_ago = [(client, (now - time).total_seconds()) for client, time in sent]
    flags_ago = [(client, ago) for client, ago in flags_ago if ago < DAY]
    limiter.restore(flags_ago)
    clients = len({client for client, _ in flags_ago})
    return f"{len(flags_ago)} flags of the last day, from {clients} clients, count against their limits"


def flag_times(flag_dir: str | Path) -> list[tuple[str, datetime]]:
    """Who sent each flag of the flag store ``flag_dir`` and when (UTC): what :func:`restore_limits` rebuilds the
    rate limits from at start-up.
    Records without a ``client`` (written before it existed) are left out; so is a file that cannot be read,
    with one line in the log — the app must start all the same."""
    pairs = []
    for path in sorted(Path(flag_dir).glob("*.jsonl")):
        try:
            records = flags.read_jsonl(path)
        except (OSError, flags.FlagStoreError) as error:
            logger.warning("rate limits: %s left out (%s)", path.name, error)
            continue
        for record in records:
            try:
                time = datetime.strptime(record["time"], flags.TIME_FORMAT).replace(tzinfo=timezone.utc)
            except (TypeError, ValueError):
                continue
            if record.get("client"):
                pairs.append((record["client"], time))
    return pairs


def client_address(headers: Mapping[str, str], peer: str | None, on_space: bool) -> str | None:
    """The address a flag came from (hashed, never stored).

    On a Space the app sits behind the Hub's proxy, so the peer is the proxy: the visitor is the LAST
    ``X-Forwarded-For`` entry (over all the header's lines), the one the proxy appended for the peer it
    saw; entries before it are whatever the client sent, and could be forged to dodge the rate limit.
    Off a Space the peer is the visitor: uvicorn trusts no proxy there (:func:`trust_no_proxy`).
    """
    getlist = getattr(headers, "getlist", None)  # starlette's Headers; a plain dict has one value per name
    lines = getlist("x-forwarded-for") if getlist else [headers.get("x-forwarded-for", "")]
    entries = [entry.strip() for line in lines for entry in line.split(",") if entry.strip()]
    if on_space and entries:
        return _without_port(entries[-1])
    return peer


def _without_port(entry: str) -> str:
    """``203.0.113.7`` of ``203.0.113.7:5123``, ``2001:db8::1`` of ``[2001:db8::1]:443``; else as it is."""
    if entry.startswith("[") and "]" in entry:
        return entry[1 : entry.index("]")]
    return entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry


def address_key(address: str) -> str:
    """What a client is hashed by: an IPv4 address whole, an IPv6 address by its /64 (one subscriber's
    network: a host picks any of its 2^64 addresses, so one visitor could otherwise rotate past the
    limits), an IPv4-mapped IPv6 address as the IPv4 one; anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def trust_no_proxy(environ: dict[str, str] = os.environ) -> None:
    """Off a Space: make uvicorn (which ``launch`` starts) trust no proxy's ``X-Forwarded-For``.

    By default uvicorn trusts the header from loopback peers (``FORWARDED_ALLOW_IPS=127.0.0.1,::1``) and
    then reports its value as the client's address, so any local script could claim a new address per
    flag. An empty list trusts nobody; uvicorn reads it when ``launch`` creates its config. A deployer
    behind their own reverse proxy may set ``FORWARDED_ALLOW_IPS`` to that proxy's address: kept as set.
    """
    environ.setdefault("FORWARDED_ALLOW_IPS", "")


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"{name}={value!r}: expected a whole number >= 0 (0 turns the limit off)")
    return int(value)


def positive_env(environ: Mapping[str, str], name: str, default: float) -> float:
    """A positive number (seconds, minutes) from ``environ[name]``, or ``default`` when unset.

    Raises:
        ValueError: not a positive number (one line naming the variable).
    """
    value = environ.get(name, "").strip()
    try:
        number = float(value) if value else default
    except ValueError:
        number = 0.0
    if not number > 0:
        raise ValueError(f"{name}={value!r}: expected a positive number")
    return number


def from_env(environ: Mapping[str, str] = os.environ) -> Visitors:
    """The policy from the environment: FLAG_CLIENT_SALT, FLAG_LIMIT_PER_MINUTE/_PER_DAY, FLAG_REQUIRE_LOGIN, and
    EXPLAIN_LIMIT_PER_MINUTE/_PER_DAY (explanations).

    Raises:
        ValueError: a limit that is not a whole number (one line naming the variable).
    """
    limiter = RateLimiter(
        _int_env(environ, "FLAG_LIMIT_PER_MINUTE", DEFAULT_PER_MINUTE),
        _int_env(environ, "FLAG_LIMIT_PER_DAY", DEFAULT_PER_DAY),
    )
    salt = environ.get("FLAG_CLIENT_SALT", "")
    visitors = Visitors(
        salt=salt.encode("utf-8") if salt else secrets.token_bytes(32),
        limiter=limiter,
        require_login=environ.get("FLAG_REQUIRE_LOGIN", "").strip().lower() in ("1", "true", "yes"),
        salt_is_random=not salt,
        explain_limiter=RateLimiter(
            _int_env(environ, "EXPLAIN_LIMIT_PER_MINUTE", EXPLAIN_PER_MINUTE),
            _int_env(environ, "EXPLAIN_LIMIT_PER_DAY", EXPLAIN_PER_DAY),
        ),
    )
    if visitors.salt_is_random:
        visitors.notes.append(
            "FLAG_CLIENT_SALT is not set: visitors' addresses are hashed with a random salt of this process, "
            "so one visitor gets a new client id after each restart (set it as a Space secret)."
        )
    for note in visitors.notes:
        logger.warning(note)
    return visitors
