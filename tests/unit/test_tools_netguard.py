"""The SSRF guard: which addresses count as public, which URLs are refused before a request,
and a resolver that refuses names with any non-public address."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.tools.netguard import (
    BlockedAddressError,
    GuardedResolver,
    UrlRefusedError,
    check_url,
    is_public_address,
    parse_allowlist,
)

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.0.9",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "198.18.0.1",
    "198.19.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:db8::1",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "::ffff:8.8.8.8",
    "2002:808:808::",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_private_and_local_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("ftp://example.com/x", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://127.0.0.1/", "127.0.0.1 is a private or local address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a private"),
        ("http://[::1]:8080/", "is a private or local address"),
        ("http://[::ffff:127.0.0.1]/", "is a private or local address"),
        ("http://[fd00:ec2::254]/", "is a private or local address"),
        ("http://0.0.0.0:80/", "is a private or local address"),
        ("http://2130706433/", "not a valid host name"),
        ("http://127.1/", "not a valid host name"),
        ("http://0x7f.0.0.1/", "not a valid host name"),
        # aiohttp takes these for addresses too and would skip the resolver:
        ("http://127.0.0.1./", "127.0.0.1. is a private or local address"),
        ("http://2130706433./", "not a valid host name"),
        ("http://127.1./", "not a valid host name"),
    ],
)
def test_unsafe_urls_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UrlRefusedError, match="refused") as caught:
        check_url(URL(url), frozenset())
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a?b=c",
        "http://8.8.8.8/",
        "http://[2606:4700::1111]/",
        "HTTP://EXAMPLE.COM",
    ],
)
def test_public_urls_pass(url: str) -> None:
    check_url(URL(url), frozenset())


def test_allowlist_matches_host_or_host_and_port() -> None:
    allow = parse_allowlist(["127.0.0.1:8080", "Intranet.Local", "[::1]:9000", "fd00::5"])

    check_url(URL("http://127.0.0.1:8080/"), allow)
    check_url(URL("http://intranet.local/x"), allow)
    check_url(URL("http://INTRANET.local:1234/x"), allow)
    check_url(URL("http://[::1]:9000/"), allow)
    check_url(URL("http://[fd00:0::5]:81/"), allow)
    for refused in ("http://127.0.0.1:8081/", "http://127.0.0.1/", "http://[::1]:9001/"):
        with pytest.raises(UrlRefusedError):
            check_url(URL(refused), allow)
    with pytest.raises(UrlRefusedError, match="only http"):
        check_url(URL("ftp://intranet.local/"), allow)


@pytest.mark.parametrize("entry", ["host:port", "[::1]x", "", ":80"])
def test_malformed_allowlist_entries_are_named(entry: str) -> None:
    with pytest.raises(ValueError, match="allow_hosts entry"):
        parse_allowlist([entry])


class FakeResolver(AbstractResolver):
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in self.answers[host]
        ]

    async def close(self) -> None:
        self.closed = True


async def test_resolver_refuses_a_name_with_any_private_address() -> None:
    fake = FakeResolver(
        {
            "public.example": ["93.184.216.34", "2606:2800:220:1::1"],
            "rebind.example": ["93.184.216.34", "127.0.0.1"],
            "metadata.example": ["169.254.169.254"],
            "mapped.example": ["::ffff:10.0.0.1"],
            "intranet.example": ["10.0.0.7"],
        }
    )
    resolver = GuardedResolver(["intranet.example"], resolver=fake)

    public = await resolver.resolve("public.example", 443)
    assert [r["host"] for r in public] == ["93.184.216.34", "2606:2800:220:1::1"]
    assert [r["host"] for r in await resolver.resolve("intranet.example", 80)] == ["10.0.0.7"]
    for host, address in [
        ("rebind.example", "127.0.0.1"),
        ("metadata.example", "169.254.169.254"),
        ("mapped.example", "::ffff:10.0.0.1"),
    ]:
        with pytest.raises(BlockedAddressError) as caught:
            await resolver.resolve(host, 80)
        assert str(caught.value) == (
            f"refused: {host} resolves to a private or local address ({address}); "
            "only public web pages can be fetched"
        )
        assert isinstance(caught.value, OSError)
    await resolver.close()
    assert fake.closed


async def test_resolver_with_the_real_dns_refuses_localhost() -> None:
    resolver = GuardedResolver()
    with pytest.raises(BlockedAddressError, match="refused: localhost resolves to a private"):
        await resolver.resolve("localhost", 80)
    allowed = GuardedResolver(["localhost:80"])
    assert await allowed.resolve("localhost", 80)
    await resolver.close()
    await allowed.close()
