"""Network helpers shared by the client settings and the sandbox (standard library only)."""

import ipaddress


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses: the only hosts plain http:// may reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
