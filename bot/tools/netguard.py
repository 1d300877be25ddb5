"""The SSRF guard of fetch_url: only public addresses, unless the operator allowlisted a host.

Two checks, because aiohttp skips the resolver for IP literals: `check_url` refuses unsafe URLs
(schemes, credentials, private IP literals) before a request, and `GuardedResolver` refuses a
name when any address it resolves to is not public. The connector connects to exactly the
addresses the resolver returned, so a name cannot be re-resolved to another address (DNS
rebinding) between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", unspecified
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, ...)
        "2001:db8::/32",  # documentation
        "fc00::/7",  # unique local, incl. the AWS metadata address fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


class BlockedAddressError(OSError):
    """A host that resolves to a private or local address. aiohttp wraps it in
    ClientConnectorDNSError (its `os_error`), so the caller can tell it from other failures."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"refused: {host} resolves to a private or local address ({address}); "
            "only public web pages can be fetched"
        )
        self.host = host
        self.address = address


class UrlRefusedError(ValueError):
    """A URL the fetcher must not request; the message says why."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """False for loopback, private, link-local (incl. cloud metadata), shared, multicast,
    reserved, documentation and benchmarking addresses, and IPv6 forms embedding them."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return False
        embedded = _embedded_v4(ip)
        if embedded is not None:
            return is_public_address(embedded)
        blocked: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = _BLOCKED_V6
    else:
        blocked = _BLOCKED_V4
    if any(ip in net for net in blocked):
        return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _allow_entry(entry: str) -> tuple[str, int | None]:
    """'host', 'host:port', 'v6', '[v6]' or '[v6]:port' as a (host, port) pair."""
    text = entry.strip().lower()
    host, port = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host or (port and not port.isdigit()) or (text.startswith("[") and ":" in port):
        raise ValueError(f"allow_hosts entry {entry!r}: write 'host', 'host:port' or '[v6]:port'")
    return _canonical_host(host), int(port) if port else None


def parse_allowlist(entries: Iterable[str]) -> frozenset[str]:
    """The allowlist as given, after checking every entry parses (ValueError naming it)."""
    allow = frozenset(entries)
    for entry in allow:
        _allow_entry(entry)
    return allow


def _canonical_host(host: str) -> str:
    host = host.strip("[]").lower().rstrip(".")
    ip = _parse_ip(host)
    return host if ip is None else ip.compressed


def is_allowed(host: str, port: int | None, allow: Iterable[str]) -> bool:
    """Whether `host` (with `port`) matches an allowlist entry 'host' or 'host:port'."""
    wanted = _canonical_host(host)
    for entry in allow:
        allowed_host, allowed_port = _allow_entry(entry)
        if allowed_host == wanted and allowed_port in (None, port):
            return True
    return False


def check_url(url: URL, allow: frozenset[str]) -> None:
    """Raise UrlRefusedError for URLs the fetcher must not request: other schemes than http(s),
    credentials in the URL, and IP-literal hosts that are not public (the resolver never sees
    those). Names are checked by GuardedResolver when they are resolved."""
    if url.scheme not in ("http", "https"):
        raise UrlRefusedError(
            f"refused: only http and https URLs can be fetched, not '{url.scheme or 'none'}:'"
        )
    host = url.raw_host
    if not host:
        raise UrlRefusedError("refused: the URL has no host name")
    if url.raw_user is not None or url.raw_password is not None:
        raise UrlRefusedError("refused: URLs with a user name or password cannot be fetched")
    if is_allowed(host, url.port, allow):
        return
    bare = host.rstrip(".")  # "127.0.0.1." is still 127.0.0.1 to aiohttp
    ip = _parse_ip(bare)
    if ip is not None and not is_public_address(ip):
        raise UrlRefusedError(
            f"refused: {host} is a private or local address; only public web pages can be fetched"
        )
    # aiohttp connects to anything with a ':' or only digits and dots as an address, without
    # the resolver: what is not a plain public address is refused here.
    numeric = all(_NUMERIC_LABEL.fullmatch(label) for label in bare.split("."))
    if ip is None and (numeric or ":" in bare):
        raise UrlRefusedError(f"refused: '{host}' is not a valid host name or IP address")


class GuardedResolver(AbstractResolver):
    """aiohttp's default resolver, refusing names with any non-public address unless the host
    (or host:port) is allowlisted."""

    def __init__(self, allow: Iterable[str] = (), resolver: AbstractResolver | None = None):
        self._allow = parse_allowlist(allow)
        self._resolver = resolver if resolver is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if is_allowed(host, port, self._allow):
            return results
        for result in results:
            ip = _parse_ip(result["host"].split("%", 1)[0])
            if ip is None or not is_public_address(ip):
                raise BlockedAddressError(host, result["host"])
        if not results:
            raise OSError(f"could not resolve {host}")
        return results

    async def close(self) -> None:
        await self._resolver.close()
