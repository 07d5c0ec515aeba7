# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_real.py), keepalived
# front door. The binary comes from the lab mirror (esdr_lab/artifacts.py serves the archive from
# shared/vendor/infini-gateway/dist, never copied into the repository), pinned by the sha512
# shipped beside it there.
from esdr_lab import artifacts as _artifacts
from esdr_lab import constants as _lab

ssh_user = _lab.SSH_DATA["ssh_user"]
ssh_key = _lab.SSH_DATA["ssh_key"]
ssh_strict_host_key_checking = _lab.SSH_DATA["ssh_strict_host_key_checking"]
ssh_known_hosts_file = _lab.SSH_DATA["ssh_known_hosts_file"]

gateway_version = _lab.GATEWAY_VERSION
gateway_archive_url = f"{_lab.MIRROR_URL}/{_lab.GATEWAY_ARCHIVE}"
# None without shared/vendor: `esdr validate` then refuses the URL (archive-checksum-missing)
gateway_archive_sha512 = _artifacts.vendored_sha512(_lab.GATEWAY_ARCHIVE)
gateway_binary = "gateway"  # the archive holds the executable alone, under this name

# The lab's clusters answer plain HTTP on a private bridge (10.88.0.0/24): credentials over
# http:// are allowed for the lab alone. Versions pinned: the gateway starts while they are
# down (in this inventory they are not even deployed).
gateway_allow_plain_http = True
gateway_clusters = {
    "primary": {
        "name": "lab-dc1",
        "endpoints": ["http://10.88.0.14:9200", "http://10.88.0.15:9200"],
        "username": "esdr_gateway",
        "password": {"env": "ESDR_LAB_GATEWAY_PASSWORD"},
        "version": _lab.ES_VERSION,
        "distribution": "elasticsearch",
    },
    "backup": {
        "name": "lab-dc2",
        "endpoints": ["http://10.88.0.24:9200", "http://10.88.0.25:9200"],
        "username": "esdr_gateway",
        "password": {"env": "ESDR_LAB_GATEWAY_PASSWORD"},
        "version": _lab.ES_VERSION,
        "distribution": "elasticsearch",
    },
}
gateway_front_door = {
    "kind": "keepalived",
    "interface": "eth0",
    "nopreempt": False,
    "unicast": True,
    "vips": [
        {
            "address": "10.88.0.100/24",
            "virtual_router_id": 88,
            "priorities": {"gw1": 150, "gw2": 100},
        }
    ],
}
