# Cluster settings for DC2 of the OpenSearch lab (every host of inventories/lab_os_dc2.py is
# in group "lab_os_dc2"). Machine-level settings are shared with DC1:
# esdr/lab/group_settings_os.py.
from esdr.crossdc.estate import load_estate_file
from esdr.lab.group_settings_os import *  # noqa: F403

es_cluster_name = "esdr-lab-os-dc2"
es_estate = load_estate_file(__file__, "estates/lab_os.yml")
