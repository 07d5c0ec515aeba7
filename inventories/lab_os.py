# DC1 of the OpenSearch lab (`esdr lab up --inventory inventories/lab_os.py --inventory
# inventories/lab_os_dc2.py`). Two compact cluster-manager+data nodes in az1/az2 and a
# dedicated cluster-manager with no data in the
# hidden third zone az3 (OpenSearch has no voting_only role: it is a full cluster-manager that
# holds no shards). Cluster settings: group_data/lab_os.py; the cross-DC design both DCs share:
# group_data/estates/lab_os.yml.

es_master = [
    ("os1-az1", {"ssh_hostname": "10.88.0.51", "zone": "az1"}),
    ("os1-az2", {"ssh_hostname": "10.88.0.52", "zone": "az2"}),
    ("os1-az3", {"ssh_hostname": "10.88.0.53", "zone": "az3"}),
]

es_data = es_master[:2]
# Every node, the dataless az3 manager too: the replication plugin runs its start action on the
# elected cluster-manager and its replication tasks on any node, and each of them calls the
# remote cluster ("this node does not have the remote_cluster_client role" otherwise, seen
# here when os*-az3 was elected). The role only lets a node open remote connections.
es_remote_cluster_client = es_master
