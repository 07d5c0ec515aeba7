# The real INFINI Gateway between the OpenSearch lab's two data centres
# (`esdr lab up --inventory inventories/lab_os.py --inventory inventories/lab_os_dc2.py
# --inventory inventories/lab_gateways_os.py`): gw1 and gw2 behind the keepalived VIP
# 10.88.0.100, DC1 primary, DC2 backup. Settings: group_data/lab_gateways_os.py. The same hosts
# and addresses as inventories/lab_gateways_real.py (the Elasticsearch pair): bring up one pair
# or the other.

gateways = [
    ("gw1", {"ssh_hostname": "10.88.0.31"}),
    ("gw2", {"ssh_hostname": "10.88.0.32"}),
]
