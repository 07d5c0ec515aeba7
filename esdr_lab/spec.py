"""Which lab hosts to create: names, addresses, derived interface names (pure, no side effects)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from esdr.errors import EsdrError
from esdr_lab import constants

IFNAMSIZ = 15  # Linux interface names: at most 15 characters
# what systemd-nspawn -M and a hostname both accept
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class HostSpec:
    """One lab host as an inventory asks for it."""

    name: str
    address: str
    inventory: str = ""
    # files of the lab mirror this host's data downloads (archive, plugins): what `up` fetches
    mirror_files: tuple[str, ...] = field(default=(), compare=False)

    @property
    def netns(self) -> str:
        return netns_name(self.name)

    @property
    def veth(self) -> str:
        return veth_name(self.address)


def netns_name(name: str) -> str:
    return f"{constants.NETNS_PREFIX}{name}"


def veth_name(address: str) -> str:
    """Machine-side veth name from the address: 10.88.0.13 -> esl-0-13 (fits IFNAMSIZ)."""
    octets = str(ipaddress.IPv4Address(address)).split(".")
    name = f"{constants.VETH_PREFIX}{octets[2]}-{octets[3]}"
    if len(name) > IFNAMSIZ:  # only if someone lengthens the prefix
        raise EsdrError(f"veth name {name!r} is longer than {IFNAMSIZ} characters")
    return name


def validate_name(name: str, where: str = "") -> str:
    if not _NAME_RE.match(name):
        raise EsdrError(
            f"lab host name {name!r}{where} is not a valid hostname",
            hint="use lower-case letters, digits and '-' (at most 63 characters)",
        )
    return name


def validate_address(address: str | None, where: str = "") -> str:
    """A lab host address: an IPv4 address inside the lab subnet, not the controller's."""
    if not address:
        raise EsdrError(
            f"lab host{where} has no ssh_hostname",
            hint=f"give every lab host an ssh_hostname inside {constants.SUBNET}",
        )
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise EsdrError(
            f"lab host address {address!r}{where} is not an IPv4 address",
            hint=f"use an address inside {constants.SUBNET}, e.g. 10.88.0.11",
        ) from None
    subnet = ipaddress.IPv4Network(constants.SUBNET)
    if ip not in subnet:
        raise EsdrError(
            f"lab host address {address}{where} is outside the lab subnet {constants.SUBNET}",
            hint="the lab only creates hosts on its own bridge; pick 10.88.0.2-10.88.0.254",
        )
    if ip in (subnet.network_address, subnet.broadcast_address):
        raise EsdrError(
            f"lab host address {address}{where} is the subnet's network or broadcast address",
            hint="pick 10.88.0.2-10.88.0.254",
        )
    if str(ip) == constants.CONTROLLER_ADDRESS:
        raise EsdrError(
            f"lab host address {address}{where} is the machine's own address on the lab bridge",
            hint="pick 10.88.0.2-10.88.0.254",
        )
    return str(ip)


def check_unique(specs: list[HostSpec]) -> list[HostSpec]:
    """Refuse two hosts with one name or one address (across all inventories)."""
    by_name: dict[str, HostSpec] = {}
    by_address: dict[str, HostSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise EsdrError(
                f"lab host {spec.name} is defined twice "
                f"({by_name[spec.name].inventory} and {spec.inventory})",
                hint="give every lab host a unique name",
            )
        if spec.address in by_address:
            raise EsdrError(
                f"lab hosts {by_address[spec.address].name} and {spec.name} "
                f"both use {spec.address}",
                hint="give every lab host its own ssh_hostname",
            )
        by_name[spec.name] = spec
        by_address[spec.address] = spec
    return specs


def specs_from_inventories(inventory_paths: list[str]) -> list[HostSpec]:
    """One HostSpec per inventory host, validated, in inventory order."""
    from esdr.inventory import load_inventory  # pyinfra import is slow: only when needed
    from esdr_lab.artifacts import mirror_files, urls_of

    if not inventory_paths:
        raise EsdrError("no lab inventory given", hint="pass --inventory inventories/lab.py")
    specs: list[HostSpec] = []
    for path in inventory_paths:
        for host in load_inventory(path):
            where = f" ({host.name} in {path})"
            specs.append(
                HostSpec(
                    name=validate_name(host.name, where),
                    address=validate_address(host.data.get("ssh_hostname"), where),
                    inventory=str(path),
                    mirror_files=mirror_files(urls_of(host.data.dict())),
                )
            )
    if not specs:
        raise EsdrError(f"no hosts in {', '.join(inventory_paths)}", hint="add hosts to it")
    return check_unique(specs)


def parse_route_dev(output: str) -> str | None:
    """The device in `ip route get ADDR` output ("10.88.0.13 dev esdrlab0 src ...")."""
    tokens = output.split()
    for i, token in enumerate(tokens[:-1]):
        if token == "dev":
            return tokens[i + 1]
    return None


def hosts_file(specs: list[HostSpec]) -> str:
    """/etc/hosts for every lab host: loopback plus every lab host by name."""
    lines = [
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        f"{constants.CONTROLLER_ADDRESS}\tesdr-lab-controller",
    ]
    lines += [f"{s.address}\t{s.name}" for s in specs]
    return "\n".join(lines) + "\n"
