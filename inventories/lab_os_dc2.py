# DC2 of the OpenSearch lab: the same shape as DC1 (inventories/lab_os.py). Cluster settings:
# group_data/lab_os_dc2.py; the cross-DC design: group_data/estates/lab_os.yml.

es_master = [
    ("os2-az1", {"ssh_hostname": "10.88.0.41", "zone": "az1"}),
    ("os2-az2", {"ssh_hostname": "10.88.0.42", "zone": "az2"}),
    ("os2-az3", {"ssh_hostname": "10.88.0.43", "zone": "az3"}),
]

es_data = es_master[:2]
# Every node, the dataless az3 manager too: the replication plugin runs its start action on the
# elected cluster-manager and its replication tasks on any node, and each of them calls the
# remote cluster ("this node does not have the remote_cluster_client role" otherwise, seen
# here when os*-az3 was elected). The role only lets a node open remote connections.
es_remote_cluster_client = es_master
