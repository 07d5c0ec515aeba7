# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_real.py), keepalived
# front door, between the lab's two deployed Elasticsearch clusters: DC1 (inventories/lab.py) as
# primary and DC2 (inventories/lab_dc2.py) as backup, over HTTPS. The binary, its checksum and
# the front door are shared with the OpenSearch tier (esdr_lab/gateway_binary.py).
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_binary import *  # noqa: F401,F403

# who the gateway logs in as, and why: gateway_settings.real_clusters
gateway_clusters = _settings.real_clusters()
