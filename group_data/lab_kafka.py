# Cluster settings of inventories/lab_kafka.py (group "lab_kafka"): the OpenSearch lab's machine
# settings (esdr_lab/group_settings_os.py) and an estate of its own with a `kafka:` section.
from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-kafka"
es_estate = load_estate_file(__file__, "estates/lab_kafka.yml")
# The pipeline's password is the lab's OpenSearch admin password, a file generated on first use
# whose path follows XDG_DATA_HOME, so it is named here rather than in the YAML.
es_estate["kafka"]["search_clusters"]["esdr-lab-kafka"]["password_file"] = str(
    es_admin_password["file"])  # noqa: F405
