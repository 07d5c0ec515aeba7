# DC2 of the local lab (`esdr lab up --inventory inventories/lab.py --inventory inventories/lab_dc2.py`).
# Compact shape: two master+data nodes in az1/az2 (which also hold the remote connections to
# DC1) and a voting-only tie-breaker in az3. Cluster settings: group_data/lab_dc2.py; the
# cross-DC design both DCs share: group_data/estates/lab.yml.

es_master = [
    ("dc2-master-az1", {"ssh_hostname": "10.88.0.21", "zone": "az1"}),
    ("dc2-master-az2", {"ssh_hostname": "10.88.0.22", "zone": "az2"}),
]

es_data = es_master
es_remote_cluster_client = es_master

es_tiebreaker = [
    ("dc2-tiebreaker-az3", {"ssh_hostname": "10.88.0.23", "zone": "az3"}),
]
