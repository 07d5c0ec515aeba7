# The real INFINI Gateway in the local lab: gw1 and gw2 run the binary the lab mirror serves
# (built from source into shared/vendor/infini-gateway, checked by its sha512), behind the
# keepalived VIP 10.88.0.100. Settings: group_data/lab_gateways_real.py. Same hosts and
# addresses as inventories/lab_gateways.py, which drills the front door with a stand-in.

gateways = [
    ("gw1", {"ssh_hostname": "10.88.0.31"}),
    ("gw2", {"ssh_hostname": "10.88.0.32"}),
]
