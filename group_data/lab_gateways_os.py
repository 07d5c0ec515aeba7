# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_os.py), keepalived
# front door, between the OpenSearch lab's two deployed clusters: DC1 (inventories/lab_os.py)
# as primary and DC2 (inventories/lab_os_dc2.py) as backup, over HTTPS with the security
# plugin. The binary, its checksum and the front door are shared with the Elasticsearch tier
# (esdr_lab/gateway_binary.py).
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_binary import *  # noqa: F401,F403

# who the gateway logs in as, and why: gateway_settings.real_os_clusters
gateway_clusters = _settings.real_os_clusters()
