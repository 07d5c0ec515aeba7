"""The lab network: one bridge owning 10.88.0.0/24 on this machine, one namespace + veth per host.

Safety: nothing is started or sent until `check_routes` has shown that every lab address is
reached through the lab bridge. Namespaces never get a default route, so hosts can reach only
each other and the machine's 10.88.0.1 (the artifact mirror).
"""

from __future__ import annotations

import json

from esdr.errors import EsdrError
from esdr_lab import constants
from esdr_lab.spec import HostSpec, parse_route_dev
from esdr_lab.system import run


def link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


# Behind the bridge's own route (metric 0) the lab subnet gets a blackhole route: while the lab
# is down, or half torn down, nothing addressed to a lab host may follow the machine's default
# route out of it. Kept after `down` on purpose: it only ever drops traffic.
BLACKHOLE_METRIC = 4242


def ensure_blackhole() -> None:
    run(["ip", "route", "replace", "blackhole", constants.SUBNET,
         "metric", str(BLACKHOLE_METRIC)])


def ensure_bridge() -> None:
    """Create the bridge with the controller address (idempotent)."""
    ensure_blackhole()
    bridge = constants.BRIDGE
    if not link_exists(bridge):
        run(["ip", "link", "add", bridge, "type", "bridge"])
    cidr = f"{constants.CONTROLLER_ADDRESS}/{constants.PREFIX_LEN}"
    addrs = run(["ip", "-j", "addr", "show", "dev", bridge]).stdout
    have = {
        f"{a['local']}/{a['prefixlen']}"
        for link in json.loads(addrs or "[]")
        for a in link.get("addr_info", [])
    }
    if cidr not in have:
        run(["ip", "addr", "add", cidr, "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def check_routes(addresses: list[str]) -> None:
    """Refuse to go on unless the machine routes every lab address into the lab bridge."""
    for address in addresses:
        out = run(["ip", "route", "get", address]).stdout
        dev = parse_route_dev(out)
        route = out.strip().splitlines()[0] if out.strip() else "no route"
        if dev != constants.BRIDGE:
            raise EsdrError(
                f"route check failed: this machine sends {address} via {dev or 'nothing'}, "
                f"not the lab bridge {constants.BRIDGE} ({route})",
                hint=f"remove the other route or address covering {constants.SUBNET}, then retry",
            )


def lab_namespaces() -> list[str]:
    """Network namespaces of this lab (by name prefix), whoever recorded them."""
    out = run(["ip", "netns", "list"], check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [name for name in names if name.startswith(constants.NETNS_PREFIX)]


def lab_veths() -> list[str]:
    out = run(["ip", "-j", "link", "show"], check=False).stdout
    links = json.loads(out or "[]")
    return [
        link["ifname"] for link in links if link.get("ifname", "").startswith(constants.VETH_PREFIX)
    ]


def create_host_network(spec: HostSpec) -> None:
    """Namespace + veth into the bridge + address; no default route (none is ever added)."""
    ns, veth = spec.netns, spec.veth
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
    run(["ip", "link", "set", veth, "master", constants.BRIDGE, "up"])
    run(["ip", "-n", ns, "addr", "add", f"{spec.address}/{constants.PREFIX_LEN}", "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    if default_route(ns):
        raise EsdrError(f"namespace {ns} has a default route", hint="esdr lab down, then retry")


def set_host_link(ns: str, up: bool) -> None:
    """A powered-off host must not answer at all (not even ARP/RST from its namespace's kernel),
    like a real machine that lost power: its eth0 goes down while it is off."""
    run(["ip", "-n", ns, "link", "set", "eth0", "up" if up else "down"])


def default_route(ns: str) -> str:
    """The namespace's default route ('' when none: the lab's invariant)."""
    return run(["ip", "-n", ns, "route", "show", "default"], check=False).stdout.strip()


def delete_namespace(ns: str) -> None:
    run(["ip", "netns", "del", ns], check=False)


def delete_link(name: str) -> None:
    if link_exists(name):
        run(["ip", "link", "del", name], check=False)


def delete_bridge() -> None:
    delete_link(constants.BRIDGE)
