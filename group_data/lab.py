# Cluster settings for DC1 of the local lab (every host of inventories/lab.py is in group "lab").
# Machine-level lab settings (ssh, mirror, heap, open-files shim, TLS password) are shared with
# DC2: esdr_lab/group_settings.py.
from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings import *  # noqa: F403

es_cluster_name = "esdr-lab-dc1"
# Cross-DC design shared with DC2: remote clusters and the shared fs repository.
es_estate = load_estate_file(__file__, "estates/lab.yml")
