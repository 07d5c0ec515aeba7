# DC1 of the local lab (`esdr lab up --inventory inventories/lab.py`).
# Two data zones (az1, az2) and a hidden third zone (az3) holding only the voting-only
# tie-breaker (Elastic: https://www.elastic.co/guide/en/elasticsearch/reference/current/high-availability-cluster-design-large-clusters.html). Cluster settings: group_data/lab.py.

es_master = [
    ("dc1-master-az1", {"ssh_hostname": "10.88.0.11", "zone": "az1"}),
    ("dc1-master-az2", {"ssh_hostname": "10.88.0.12", "zone": "az2"}),
]

es_tiebreaker = [
    ("dc1-tiebreaker-az3", {"ssh_hostname": "10.88.0.13", "zone": "az3"}),
]

es_data = [
    ("dc1-data-az1", {"ssh_hostname": "10.88.0.14", "zone": "az1"}),
    ("dc1-data-az2", {"ssh_hostname": "10.88.0.15", "zone": "az2"}),
]

# The data nodes hold the connections to DC2 (remote clusters, CCR followers).
es_remote_cluster_client = [
    ("dc1-data-az1", {"ssh_hostname": "10.88.0.14", "zone": "az1"}),
    ("dc1-data-az2", {"ssh_hostname": "10.88.0.15", "zone": "az2"}),
]
