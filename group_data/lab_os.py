# Cluster settings for DC1 of the OpenSearch lab (every host of inventories/lab_os.py is in
# group "lab_os"). Machine-level settings (ssh, mirror, engine, plugins, heap, shim, passwords)
# are shared with DC2: esdr/lab/group_settings_os.py.
from esdr.crossdc.estate import load_estate_file
from esdr.lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-os-dc1"
# Cross-DC design shared with DC2: remote clusters both ways, followers, auto-follow,
# the bi-directional alias (replication plugin).
es_estate = load_estate_file(__file__, "estates/lab_os.yml")
