# Gateway tier of the local lab, Nginx front door (inventories/lab_gateways_nginx.py). The SSH
# settings and the two lab clusters are shared with the other gateway tiers
# (esdr_lab/gateway_settings.py).
from esdr_lab.gateway_settings import *  # noqa: F401,F403

gateway_front_door = {
    "kind": "nginx",
    "listen_port": 9200,
    "max_fails": 1,
    "fail_timeout": "5s",  # how long a failed gateway is skipped before nginx tries it again
    "hash_by_index": True,
}

# A lab inventory (plain HTTP on the entries and Nginx is allowed only in one:
# esdr/checks/gateway.py)
es_lab = True
