# Kafka beside OpenSearch on the lab's three zones (`esdr lab up --inventory
# inventories/lab_kafka.py`, then `pyinfra -y inventories/lab_kafka.py deploys/site.py`): the
# hosts and addresses of the OpenSearch lab's DC1 (bring up one or the other), each also a KRaft
# controller and broker of the estate's Kafka cluster (group_data/estates/lab_kafka.yml), so a
# whole zone, engine node and Kafka node together, can be cut at once. Settings:
# group_data/lab_kafka.py.

es_master = [
    ("os1-az1", {"ssh_hostname": "10.88.0.51", "zone": "az1"}),
    ("os1-az2", {"ssh_hostname": "10.88.0.52", "zone": "az2"}),
    ("os1-az3", {"ssh_hostname": "10.88.0.53", "zone": "az3"}),
]

es_data = es_master[:2]
