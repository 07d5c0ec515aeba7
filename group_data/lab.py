# Cluster settings for DC1 of the local lab (every host of inventories/lab.py is in group "lab").
# Machine-level lab settings (ssh, mirror, heap, open-files shim, TLS password) are shared with
# DC2: esdr_lab/group_settings.py.
import os as _os

from esdr.crossdc.estate import load_estate_file
from esdr_lab.group_settings import *  # noqa: F403

es_cluster_name = "esdr-lab-dc1"
# Cross-DC design shared with DC2: remote clusters and the shared fs repository.
# ESDR_LAB_ESTATE: benchmarks/run points DC1 at a generated copy with 100 more repositories
# (an absolute path to a file also named lab.yml, so the estate's secrets stay the same).
es_estate = load_estate_file(__file__, _os.environ.get("ESDR_LAB_ESTATE", "estates/lab.yml"))
