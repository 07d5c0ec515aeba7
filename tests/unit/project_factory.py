"""A small valid project on disk (inventory, group data, estate, gateway tier) to mutate, and the
three entry points a user's input goes through: ``esdr validate``, ``esdr render`` and the plan
loader (``esdr plan`` up to the point where it would connect)."""

from __future__ import annotations

import copy
import itertools
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from esdr.cli.args import topology_of as plan_loader
from esdr.cli.main import cli
from esdr.errors import BadInput

NAME = "t"  # inventories/t.py, group_data/t.py, group_data/estates/t.yml

# group -> [(host, data)]: two data zones and a tie-breaker zone, two gateways
HOSTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "es_master": [("m1", {"zone": "az1", "ssh_hostname": "10.20.0.11"}),
                  ("m2", {"zone": "az2", "ssh_hostname": "10.20.0.12"})],
    "es_tiebreaker": [("tb", {"zone": "az3", "ssh_hostname": "10.20.0.13", "es_heap": "1g"})],
    "es_data": [("d1", {"zone": "az1", "ssh_hostname": "10.20.0.21",
                        "es_cert_sans": ["10.20.0.21"]}),
                ("d2", {"zone": "az2", "ssh_hostname": "10.20.0.22", "ram": "8g"})],
    # listed twice with the same data: allowed
    "es_remote_cluster_client": [
        ("d1", {"zone": "az1", "ssh_hostname": "10.20.0.21", "es_cert_sans": ["10.20.0.21"]}),
        ("d2", {"zone": "az2", "ssh_hostname": "10.20.0.22", "ram": "8g"}),
    ],
    "gateways": [("g1", {"gateway_address": "10.20.1.11"}),
                 ("g2", {"gateway_address": "10.20.1.12"})],
}

GROUP_DATA: dict[str, Any] = {
    "es_cluster_name": "t1",
    "es_version": "8.19.21",
    "es_archive_url": "https://mirror.example.internal/elasticsearch-8.19.21-linux-x86_64.tar.gz",
    "es_archive_sha512": "0" * 128,
    "es_data_zones": ["az1", "az2"],
    "es_index_replicas": 1,
    "es_path_repo": ["/mnt/snapshots"],
    "es_settings": {"action.destructive_requires_name": True,
                    "indices": {"memory": {"index_buffer_size": "20%"}}},
    "es_service_environment": {"ES_TMPDIR": "/var/tmp/es"},
    "es_elastic_password": {"env": "ESDR_T_ELASTIC_PASSWORD"},
    "es_http_port": 9200,
    "gateway_clusters": {
        "primary": {"name": "t1", "endpoints": ["https://10.20.0.21:9200"],
                    "username": "esdr_gateway", "password": {"env": "ESDR_T1_GW"}},
        "backup": {"name": "t2", "endpoints": ["https://10.30.0.21:9200"],
                   "username": "esdr_gateway", "password": {"env": "ESDR_T2_GW"}},
    },
    "gateway_version": "1.29.4",
    "gateway_archive_local": "/srv/mirror/gateway-1.29.4-linux-amd64.tar.gz",
    "gateway_front_door": {
        "kind": "keepalived",
        "interface": "eth0",
        "vips": [{"address": "10.20.1.100/24", "virtual_router_id": 51,
                  "priorities": {"g1": 150, "g2": 100}}],
    },
}

ESTATE: dict[str, Any] = {
    "clusters": {
        "dc1": {"cluster_name": "t1", "inventory": f"inventories/{NAME}.py",
                "seeds": ["10.20.0.21:9300", "10.20.0.22:9300"]},
        "dc2": {"cluster_name": "t2", "seeds": ["10.30.0.21:9300"]},
    },
    "licence": "basic",
    "links": [{"from": "dc1", "to": "dc2"}],
    "repositories": {
        "dr": {"type": "fs", "settings": {"location": "/mnt/snapshots/t1"}, "writer": "dc1"},
    },
    "slm": {
        "nightly": {"cluster": "dc1", "schedule": "0 30 1 * * ?", "name": "<nightly-{now/d}>",
                    "repository": "dr", "config": {"indices": ["*"]},
                    "retention": {"expire_after": "30d"}},
    },
    "followers": [{"cluster": "dc1", "index": "orders", "remote": "dc2"}],
    "auto_follow": {
        "logs": {"cluster": "dc1", "remote": "dc2", "leader_index_patterns": ["logs-*"],
                 "follow_index_pattern": "{{leader_index}}-copy"},
    },
}


def valid() -> tuple[dict, dict, dict]:
    """Fresh copies of the valid hosts, group data and estate, to mutate."""
    return copy.deepcopy(HOSTS), copy.deepcopy(GROUP_DATA), copy.deepcopy(ESTATE)


_FRESH = itertools.count()
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write(root: Path, hosts: Any, group_data: dict[str, Any], estate: Any = None,
          estate_text: str | None = None) -> Path:
    """Write the project under a directory of its own and return the inventory's path.

    Every call gets new file names: pyinfra caches each file's compiled code by its path.
    """
    project = root / f"p{next(_FRESH)}"
    (project / "inventories").mkdir(parents=True)
    (project / "group_data" / "estates").mkdir(parents=True)
    inventory = project / "inventories" / f"{NAME}.py"
    inventory.write_text("".join(f"{group} = {hosts[group]!r}\n" for group in hosts),
                         encoding="utf-8")
    lines = [f"{key} = {value!r}\n" for key, value in group_data.items()]
    if estate is not None or estate_text is not None:
        text = estate_text if estate_text is not None else yaml.dump(estate, Dumper=_DUMPER)
        (project / "group_data" / "estates" / f"{NAME}.yml").write_text(text, encoding="utf-8")
        lines += ["from esdr.crossdc.estate import load_estate_file\n",
                  f"es_estate = load_estate_file(__file__, 'estates/{NAME}.yml')\n"]
    # __all__ names the group data, so pyinfra need not parse the file again for every name
    names = [*group_data, *(["es_estate"] if len(lines) > len(group_data) else [])]
    lines.insert(0, f"__all__ = {names!r}\n")
    (project / "group_data" / f"{NAME}.py").write_text("".join(lines), encoding="utf-8")
    return inventory


def validate(inventory: Path) -> Result:
    return CliRunner().invoke(cli, ["--json", "validate", str(inventory)])


def render(inventory: Path) -> Result:
    out = tempfile.mkdtemp(dir=inventory.parent.parent)
    return CliRunner().invoke(cli, ["--json", "render", str(inventory), "--out", out])


def load_for_plan(inventory: Path) -> int:
    """The plan loader: 0 when it returns a topology, 2 when it refuses the input."""
    try:
        plan_loader(str(inventory))
    except BadInput:
        return 2
    return 0
