# Gateway tier of the local lab, Nginx front door (inventories/lab_gateways_nginx.py).
from esdr_lab import constants as _lab

ssh_user = _lab.SSH_DATA["ssh_user"]
ssh_key = _lab.SSH_DATA["ssh_key"]
ssh_strict_host_key_checking = _lab.SSH_DATA["ssh_strict_host_key_checking"]
ssh_known_hosts_file = _lab.SSH_DATA["ssh_known_hosts_file"]

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
gateway_front_door = {
    "kind": "nginx",
    "listen_port": 9200,
    "max_fails": 1,
    "fail_timeout": "5s",  # how long a failed gateway is skipped before nginx tries it again
    "hash_by_index": True,
}
