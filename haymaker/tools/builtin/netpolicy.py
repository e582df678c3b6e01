"""Which hosts and addresses http_fetch may reach (server-side request forgery rules).

- Only http and https, and no user:password@ in the URL; an IP address only in its usual
  form (not 2130706433 or 127.1, which resolvers read as 127.0.0.1).
- A non-empty `allowed_hosts` names the only hosts allowed: `example.com` (exactly) or
  `*.example.com` (any subdomain, not example.com itself). Empty: any host.
- Every address a host resolves to, and every literal IP address, must be public: not
  private, loopback, link-local, multicast, reserved, unspecified, shared (100.64/10), nor
  a cloud metadata address; IPv6 addresses that embed an IPv4 one (mapped, 6to4, Teredo,
  NAT64) are judged by that. Names of metadata services are refused before any lookup.
- A host listed exactly (not through `*.`) is trusted with any address, except cloud
  metadata addresses: those only when the listed host is the metadata address or name
  itself.

The same checks run for every redirect, and the addresses are checked as the connection is
made (see http_client), so a name cannot resolve to something else between check and use.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_NAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.com",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, Azure IMDS, GCP, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "168.63.129.16",  # Azure WireServer (a public address!)
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*")
ALLOWED_SCHEMES = ("http", "https")


class FetchRefused(Exception):
    """A request the rules forbid; the message says why and is safe to show the model."""


def normal_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _ascii(host: str) -> str:
    """A listed host as URLs carry it: müller.de is xn--mller-kva.de."""
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public one (e.g. "a loopback address"), or None if it is."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = non_public_reason(embedded)
            if reason is not None:
                return f"{reason} (embedded in an IPv6 address)"
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:
        return "not a public address"
    return None


class HostPolicy:
    """The rules above for one deployment's `allowed_hosts`. With `exclusive=False` the list
    only trusts its hosts (webhook targets: any public host, and the listed ones with any
    address)."""

    def __init__(self, allowed_hosts: Iterable[str] = (), *, exclusive: bool = True) -> None:
        self.exclusive = exclusive
        entries = [_ascii(normal_host(entry)) for entry in allowed_hosts if entry.strip()]
        self.exact = frozenset(entry for entry in entries if not entry.startswith("*."))
        self.suffixes = tuple(entry[1:] for entry in entries if entry.startswith("*."))

    def check_url(self, scheme: str, host: str | None, has_credentials: bool) -> None:
        """Before each request (the first and every redirect): FetchRefused if not allowed."""
        if scheme not in ALLOWED_SCHEMES:
            raise FetchRefused(
                "only http and https URLs can be fetched" + (f", not {scheme}" if scheme else "")
            )
        if has_credentials:
            raise FetchRefused("a URL may not carry a user name or password; send a header")
        if not host:
            raise FetchRefused("the URL has no host")
        host = normal_host(host)
        if not self._listed(host):
            raise FetchRefused(f"{host} is not among the allowed hosts")
        if host in METADATA_NAMES and host not in self.exact:
            raise FetchRefused(f"{host} is a cloud metadata service")
        address = literal_address(host)
        if address is not None:
            self.check_address(host, address)
        elif _NUMERIC_HOST.fullmatch(host):
            # 2130706433, 0x7f.1, 127.1: resolvers read these as addresses (here 127.0.0.1)
            raise FetchRefused(f"{host} is not an IP address in its usual form")

    def check_address(self, host: str, address: IPAddress) -> None:
        """For each address `host` resolved to, as the connection is made."""
        host = normal_host(host)
        if host in self.exact:
            trusted_metadata = host in METADATA_NAMES or literal_address(host) == address
            if address in METADATA_ADDRESSES and not trusted_metadata:
                raise FetchRefused(f"{host} resolves to a cloud metadata address")
            return
        reason = non_public_reason(address)
        if reason is not None:
            if literal_address(host) == address:
                problem = f"{host} is {reason}"
            else:
                problem = f"{host} resolves to {address}, {reason}"
            raise FetchRefused(f"{problem}; list the host in allowed_hosts to allow it")

    def trusts(self, host: str) -> bool:
        """Whether `host` is listed exactly (and so trusted with any address)."""
        return _ascii(normal_host(host)) in self.exact

    def _listed(self, host: str) -> bool:
        if not self.exclusive or (not self.exact and not self.suffixes):
            return True
        return host in self.exact or host.endswith(self.suffixes)
