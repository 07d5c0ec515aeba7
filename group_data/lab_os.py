# Cluster settings for DC1 of the OpenSearch lab (every host of inventories/lab_os.py is in
# group "lab_os"). Machine-level settings (ssh, mirror, engine, plugins, heap, shim, passwords)
# are shared with DC2: esdr_lab/group_settings_os.py.
import os as _os

from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-os-dc1"
# Cross-DC design shared with DC2: remote clusters both ways, followers, auto-follow,
# the bi-directional alias (replication plugin).
# ESDR_LAB_OS_ESTATE: benchmarks/run points both DCs at a generated copy with more followers
# (an absolute path to a file also named lab_os.yml, so the estate's secrets stay the same).
es_estate = load_estate_file(__file__, _os.environ.get("ESDR_LAB_OS_ESTATE", "estates/lab_os.yml"))
