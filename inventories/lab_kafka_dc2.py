# DC2 of the Kafka lab (`esdr lab up --inventory inventories/lab_kafka.py --inventory
# inventories/lab_kafka_dc2.py`, deploy DC1 first, then `pyinfra -y inventories/lab_kafka_dc2.py
# deploys/site.py`): a second OpenSearch cluster on three hosts of its own, one per zone, with
# the estate's pipeline service for it on each, consuming the same topic from DC1's Kafka
# cluster under its own consumer group. The host names and addresses are the OpenSearch lab's
# DC2 (bring up one lab or the other). Settings: group_data/lab_kafka_dc2.py.

es_master = [
    ("os2-az1", {"ssh_hostname": "10.88.0.41", "zone": "az1"}),
    ("os2-az2", {"ssh_hostname": "10.88.0.42", "zone": "az2"}),
    ("os2-az3", {"ssh_hostname": "10.88.0.43", "zone": "az3"}),
]

es_data = es_master[:2]
