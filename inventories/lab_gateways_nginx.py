# The gateway tier in the local lab with Nginx as the front door: Nginx on gw1 in front of
# two gateways, upstream1 and upstream2 (the same hosts inventories/lab_gateways.py creates;
# bring the lab up with that one). Settings: group_data/lab_gateways_nginx.py.

gateways = [
    ("upstream1", {"ssh_hostname": "10.88.0.33"}),
    ("upstream2", {"ssh_hostname": "10.88.0.34"}),
]

gateway_lb = [
    ("gw1", {"ssh_hostname": "10.88.0.31"}),
]
