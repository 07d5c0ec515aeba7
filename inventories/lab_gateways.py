# The gateway tier in the local lab: keepalived VIP 10.88.0.100 between gw1 and gw2
# (`esdr lab up --inventory inventories/lab_gateways.py`). upstream1/upstream2 are in no role
# group here: they exist so inventories/lab_gateways_nginx.py (same four hosts) can put Nginx
# in front of them. Settings: group_data/lab_gateways.py. The gateway binary cannot run in the
# lab; tests/gateway_lab starts a python3 http.server stand-in on the gateway ports instead.

gateways = [
    ("gw1", {"ssh_hostname": "10.88.0.31"}),
    ("gw2", {"ssh_hostname": "10.88.0.32"}),
]

lab_upstreams = [
    ("upstream1", {"ssh_hostname": "10.88.0.33"}),
    ("upstream2", {"ssh_hostname": "10.88.0.34"}),
]
