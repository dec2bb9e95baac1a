"""Where a webhook may be sent: http(s) only, and never to loopback, link-local (cloud metadata at
169.254.169.254), private or otherwise non-public addresses unless ZW_WEBHOOK_ALLOWED_NETWORKS lists
their network (government intranets use private addresses, so that allowlist is explicit).

The check runs when a subscription is saved and again at every send. At send time the request goes
to the very address that was checked (Host header and TLS server name keep the original host), so a
DNS answer that changes between the check and the connection cannot redirect it."""
import asyncio
import socket
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit, urlunsplit

Address = IPv4Address | IPv6Address


class TargetRefused(ValueError):
    """A URL the service will not send to; the message is Chinese, for the API and the delivery log."""


@dataclass(frozen=True)
class Target:
    url: str  # the URL with the checked address in place of the host name
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable webhook URL, or TargetRefused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise TargetRefused("URL 格式不正确") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("只支持 http 和 https 协议的 URL")
    if not parts.hostname:
        raise TargetRefused("URL 缺少主机名")
    if parts.username or parts.password:
        raise TargetRefused("URL 不能包含用户名或密码：请改用签名校验请求来源")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def _refusal(address: Address, allowed: list) -> str | None:
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return None
    if address.is_loopback:
        kind = "本机回环地址"
    elif address.is_link_local:
        kind = "链路本地地址（含云主机元数据地址 169.254.169.254）"
    elif address.is_private:
        kind = "内网地址"
    elif address.is_global and not address.is_multicast:
        return None
    else:
        kind = "非公网地址"
    return f"目标地址 {address} 属于{kind}，不允许发送；如确需发往内网，请把其网段加入 ZW_WEBHOOK_ALLOWED_NETWORKS"


def allowed_networks(cidrs: list[str]) -> list:
    return [ip_network(cidr, strict=False) for cidr in cidrs]


def _literal(host: str) -> Address | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def check_addresses(addresses: list[Address], allowed: list) -> Address:
    """The first address, when every address the host resolves to is acceptable: one bad record
    among good ones is refused too, since the connection could land on it."""
    if not addresses:
        raise TargetRefused("主机名没有解析到任何地址")
    for address in addresses:
        if reason := _refusal(address, allowed):
            raise TargetRefused(reason)
    return addresses[0]


def _addresses_of(infos) -> list[Address]:
    seen: list[Address] = []
    for info in infos:
        address = ip_address(info[4][0].split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


def check_url(url: str, *, allowed_cidrs: list[str]) -> None:
    """The check made when a subscription is saved (synchronous DNS)."""
    _scheme, host, port = parse(url)
    literal = _literal(host)
    if literal is not None:
        check_addresses([literal], allowed_networks(allowed_cidrs))
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"无法解析主机名 {host}") from None
    check_addresses(_addresses_of(infos), allowed_networks(allowed_cidrs))


async def pin(url: str, *, allowed: list) -> Target:
    """The check made at send time: resolve, check, and aim the request at the checked address."""
    scheme, host, port = parse(url)
    literal = _literal(host)
    if literal is not None:
        check_addresses([literal], allowed)
        return Target(url=url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"无法解析主机名 {host}") from None
    address = check_addresses(_addresses_of(infos), allowed)
    parts = urlsplit(url)
    netloc_host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    host_header = f"{host}:{parts.port}" if parts.port else host
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return Target(url=urlunsplit(parts._replace(netloc=netloc)), headers={"Host": host_header}, extensions=extensions)
