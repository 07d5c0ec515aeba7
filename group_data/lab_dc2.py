# Cluster settings for DC2 of the local lab (every host of inventories/lab_dc2.py is in group
# "lab_dc2"). Machine-level lab settings are shared with DC1: esdr_lab/group_settings.py.
from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings import *  # noqa: F403

es_cluster_name = "esdr-lab-dc2"
es_estate = load_estate_file(__file__, "estates/lab.yml")
