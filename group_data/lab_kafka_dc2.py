# Cluster settings of inventories/lab_kafka_dc2.py (group "lab_kafka_dc2"): the OpenSearch lab's
# machine settings (esdr_lab/group_settings_os.py) and the Kafka lab's estate, shared with DC1
# (group_data/lab_kafka.py), so both DCs' pipelines read one topic from one Kafka cluster.
from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-kafka-dc2"
es_estate = load_estate_file(__file__, "estates/lab_kafka.yml")
