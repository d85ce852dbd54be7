"""The client address behind trusted proxies: one walk over X-Forwarded-For, used by every reader."""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# "1.2.3.4:5678" and "[2001:db8::1]:443": some proxies and load balancers append the client's port.
_V4_PORT = re.compile(r"(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}")
_V6_BRACKETS = re.compile(r"\[([0-9A-Fa-f:.]+(?:%[\w.-]{1,32})?)\](?::\d{1,5})?")
# A hop longer than this is not an address (the longest IPv6 text with a zone id is far shorter).
_MAX_HOP = 80


def parse_networks(entries: Iterable[str]) -> tuple[tuple[Network, ...], tuple[str, ...]]:
    """TRUSTED_PROXIES entries (addresses or CIDRs) as networks, and the entries that are neither."""
    networks: list[Network] = []
    bad: list[str] = []
    for entry in entries:
        try:
            networks.append(_unmapped_network(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            bad.append(entry)
    return tuple(networks), tuple(bad)


def parse_address(text: str) -> Address | None:
    """One hop (or peer) as an address, IPv4-mapped IPv6 as IPv4; None when it is not an IP address."""
    text = text.strip()
    if not text or len(text) > _MAX_HOP:
        return None
    if (match := _V4_PORT.fullmatch(text)) or (match := _V6_BRACKETS.fullmatch(text)):
        text = match.group(1)
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@functools.lru_cache(maxsize=4096)
def peer_address(peer: str) -> tuple[Address | None, str]:
    """The socket peer parsed (parse_address) and as text: a client sends many requests from one address."""
    address = parse_address(peer)
    return address, "" if address is None else str(address)


def is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    """True when `address` lies in one of the trusted proxies' networks."""
    return address is not None and any(address.version == n.version and address in n for n in trusted)


def client_address(peer: str, forwarded_lines: Sequence[str], trusted: Sequence[Network]) -> str:
    """The rightmost X-Forwarded-For hop that is not a trusted proxy, walked only from a trusted peer.

    All header lines are joined in order. A hop that is not an IP address ends the walk: the answer is
    then the last address walked (the trusted hop that handed it over), never the unparsable text.
    """
    last, shown = peer_address(peer)
    if last is None:
        return ""
    if not trusted or not is_trusted(last, trusted):  # no proxies (the usual case): the peer, as parsed once
        return shown
    hops = [hop for line in forwarded_lines for hop in line.split(",")]
    for hop in reversed(hops):
        if not hop.strip():
            continue
        address = parse_address(hop)
        if address is None:
            break
        last = address
        if not is_trusted(address, trusted):
            break
    return str(last)


def _unmapped_network(network: Network) -> Network:
    """::ffff:10.0.0.0/104 means 10.0.0.0/8: addresses are compared unmapped."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network
