"""The address guard of fetch_url, for remote MCP servers (the SDK's HTTP client is httpx2).

Every connection resolves the host itself, refuses it when any address is not public
(`is_public_address`, the same rule as fetch_url's), and connects to exactly the addresses
it checked, so a name cannot be re-resolved elsewhere in between (DNS rebinding). TLS still
verifies the certificate against the host name. Redirects need no check of their own: each
connection goes through here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import anyio
import httpcore2
import httpx2

from bot.tools.netguard import is_public_address

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0  # a server may hold a response stream open while a tool runs


class RefusedAddressError(httpcore2.ConnectError):
    """A host that resolves to a private or local address."""


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to public addresses."""

    def __init__(self, inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        addresses = await public_addresses(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                failure = exc
        raise failure or httpcore2.ConnectError(f"could not resolve {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not used for MCP servers")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def public_addresses(host: str, port: int) -> list[str]:
    """The addresses of `host`; RefusedAddressError when any of them is not public."""
    try:
        infos = await anyio.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore2.ConnectError(f"could not resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            ip = None
        if ip is None or "%" in address or not is_public_address(ip):
            raise RefusedAddressError(
                f"refused: {host} resolves to a private or local address ({address}); set "
                "private = true for this server if that is on purpose"
            )
    return addresses


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport with the guarded backend (and no proxy from the environment)."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        # httpx2 does not take a network backend; its pool does. Replaced before first use.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            network_backend=GuardedBackend(),
        )


def http_client(headers: dict[str, str], *, guarded: bool) -> httpx2.AsyncClient:
    """The HTTP client of one remote server: its headers, no cookies shared with anything
    else, no proxy from the environment, the guard unless the server is marked private."""
    return httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(CONNECT_TIMEOUT, read=READ_TIMEOUT),
        transport=GuardedTransport() if guarded else httpx2.AsyncHTTPTransport(trust_env=False),
        trust_env=False,
        follow_redirects=False,
    )
