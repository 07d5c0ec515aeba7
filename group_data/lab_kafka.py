# Cluster settings of inventories/lab_kafka.py (group "lab_kafka"): the OpenSearch lab's machine
# settings (esdr_lab/group_settings_os.py) and an estate of its own with a `kafka:` section.
from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-kafka"
es_estate = load_estate_file(__file__, "estates/lab_kafka.yml")
# The pipeline writes as its own user, which the deploy makes in the lab's OpenSearch cluster
# with a generated password (no credentials in the estate's search_clusters entry).
