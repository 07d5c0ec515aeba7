"""Build gateway tiers from plain host lists, the way an inventory would, for unit tests."""

from __future__ import annotations

import copy
from typing import Any

from esdr.gateway.model import GatewayTier, tier_from_hosts
from esdr.model import HostSpec

CLUSTERS: dict[str, Any] = {
    "primary": {
        "name": "dc1",
        "endpoints": ["https://10.0.1.10:9200"],
        "username": "gw",
        "password": {"env": "DC1_PW"},
        "version": "8.19.21",
        "distribution": "elasticsearch",
    },
    "backup": {
        "name": "dc2",
        "endpoints": ["https://10.0.2.10:9200"],
        "username": "gw",
        "password": {"file": "/etc/esdr/dc2.pw"},
        "version": "8.19.21",
        "distribution": "elasticsearch",
    },
}
KEEPALIVED: dict[str, Any] = {
    "kind": "keepalived",
    "vips": [{"address": "10.0.0.100/24", "virtual_router_id": 51}],
}


def tier(
    front_door: dict[str, Any] | None = None,
    gateways: tuple[tuple[str, str], ...] = (("gw1", "10.0.0.11"), ("gw2", "10.0.0.12")),
    balancers: tuple[tuple[str, str], ...] = (),
    others: tuple[tuple[str, str], ...] = (),
    **data: Any,
) -> GatewayTier:
    group_data = {
        "gateway_clusters": copy.deepcopy(CLUSTERS),
        "gateway_front_door": copy.deepcopy(KEEPALIVED if front_door is None else front_door),
        **data,
    }
    specs = [
        HostSpec(name, ("gateways", "dc"), {"ssh_hostname": addr, **group_data})
        for name, addr in gateways
    ]
    specs += [
        HostSpec(name, ("gateway_lb", "dc"), {"ssh_hostname": addr, **group_data})
        for name, addr in balancers
    ]
    specs += [HostSpec(name, ("es_data", "dc"), {"ssh_hostname": addr}) for name, addr in others]
    model = tier_from_hosts(specs, source="test.py")
    assert model is not None
    return model
