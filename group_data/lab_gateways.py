# Gateway tier of the local lab, keepalived front door (every host of
# inventories/lab_gateways.py is in group "lab_gateways").
from esdr_lab import constants as _lab

ssh_user = _lab.SSH_DATA["ssh_user"]
ssh_key = _lab.SSH_DATA["ssh_key"]
ssh_strict_host_key_checking = _lab.SSH_DATA["ssh_strict_host_key_checking"]
ssh_known_hosts_file = _lab.SSH_DATA["ssh_known_hosts_file"]

# The gateway here is a stand-in (tests/gateway_lab/test_front_door_lab.py); the real binary runs
# with inventories/lab_gateways_real.py. Clusters: the lab DC1 and a DC2 address plan.
# The lab's clusters answer plain HTTP on a private bridge (10.88.0.0/24) and the
# gateway only renders here: credentials over http:// are allowed for the lab alone.
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
# No gateway_archive_url: INFINI Gateway is not obtainable here, and the deploy says so.
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
