"""What a node certificate must name and when to reissue it: pure, no I/O, no cryptography.

``esdr.security.certs`` issues and reads certificates; the checks (``esdr.checks.security``) and
the certificate status use these decisions without touching the secrets directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from esdr.model import Node


@dataclass(frozen=True)
class Sans:
    dns: frozenset[str]
    ips: frozenset[str]

    def covers(self, address: str) -> bool:
        return _normal_ip(address) in self.ips if is_ip(address) else address.lower() in self.dns

    def __str__(self) -> str:
        return ", ".join(sorted(self.dns) + sorted(self.ips))


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _normal_ip(text: str) -> str:
    return str(ipaddress.ip_address(text))


def sans_of(names: Iterable[str]) -> Sans:
    names = [str(n).strip() for n in names if str(n).strip()]
    return Sans(
        dns=frozenset(n.lower() for n in names if not is_ip(n)),
        ips=frozenset(_normal_ip(n) for n in names if is_ip(n)),
    )


# A certificate's dNSName is an IA5String (ASCII): internationalized names go in as IDNA
# A-labels (RFC 5280 section 7.2, https://www.rfc-editor.org/rfc/rfc5280#section-7.2), and
# cryptography refuses anything else only when it builds the certificate, half-way through.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def san_problem(name: str) -> str | None:
    """Why ``name`` cannot be a DNS or IP SAN of a certificate, or ``None`` when it can."""
    text = str(name).strip()
    if not text:
        return "an empty entry"
    if is_ip(text):
        return None
    if not text.isascii():
        try:
            alabel = text.encode("idna").decode("ascii")
        except UnicodeError:
            return (f"{text!r} is not ASCII and has no IDNA form: a certificate names a host "
                    "by its A-label (xn--...)")
        return (f"{text!r} is not ASCII: a certificate names a host by its IDNA A-label; "
                f"write {alabel!r} (from Python's IDNA 2003 codec: check it with an IDNA 2008 "
                "tool such as idn2, as a few characters like 'ß' encode differently)")
    if _SPACE_OR_CONTROL.search(text):
        return f"{text!r} holds a space or a control character: not a host name nor an IP"
    return None


def san_problems(node: Node) -> list[str]:
    """What in the node's wanted SANs (``wanted_sans``) no certificate can carry."""
    names = [node.name, node.host, node.address, *node.cert_sans]
    seen: list[str] = []
    for name in names:
        problem = san_problem(str(name)) if str(name).strip() else None  # empties: dropped
        if problem and problem not in seen:
            seen.append(problem)
    return seen


def wanted_sans(node: Node) -> Sans:
    """Node name, host name, the address it binds and publishes (network.host), es_cert_sans."""
    return sans_of([node.name, node.host, node.address, *node.cert_sans])


@dataclass(frozen=True)
class CertInfo:
    sans: Sans
    not_after: dt.datetime
    issuer_key_id: bytes | None  # the signing CA's subject key identifier
    serial: int
    subject: str = ""  # RFC 4514, as OpenSearch's nodes_dn and admin_dn compare it

    def days_left(self, now: dt.datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400


def renewal_reason(
    wanted: Sans,
    current: CertInfo | None,
    ca_key_id: bytes | None,
    now: dt.datetime,
    renew_days: int,
    *,
    ca_not_after: dt.datetime | None = None,
) -> str | None:
    """Why this node needs a new certificate, or ``None`` to keep the one it has.

    A certificate never outlives its CA (issuing caps it there), so one that already ends with
    the CA is not renewed for its expiry: a new one would end at the same moment, and every
    deploy would reissue and restart the cluster for nothing. The CA's own expiry is the
    rotation's business (``esdr certs status`` warns, ``esdr certs rotate-ca``)."""
    if current is None:
        return "missing"
    if current.sans != wanted:
        return f"SANs changed ({current.sans} -> {wanted})"
    if ca_key_id is not None and current.issuer_key_id != ca_key_id:
        return "signed by another CA"
    left = current.days_left(now)
    if ca_not_after is not None and current.not_after >= ca_not_after:
        return None
    if left <= renew_days:
        return f"expires in {left:.0f} days (renewal window {renew_days} days)"
    return None
