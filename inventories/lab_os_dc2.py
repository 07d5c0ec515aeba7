# DC2 of the OpenSearch lab: the same shape as DC1 (inventories/lab_os.py). Cluster settings:
# group_data/lab_os_dc2.py; the cross-DC design: group_data/estates/lab_os.yml.

es_master = [
    ("os2-az1", {"ssh_hostname": "10.88.0.41", "zone": "az1"}),
    ("os2-az2", {"ssh_hostname": "10.88.0.42", "zone": "az2"}),
    ("os2-az3", {"ssh_hostname": "10.88.0.43", "zone": "az3"}),
]

es_data = es_master[:2]
es_remote_cluster_client = es_master[:2]
