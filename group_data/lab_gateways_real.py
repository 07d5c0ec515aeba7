# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_real.py), keepalived
# front door, between the lab's two deployed Elasticsearch clusters: DC1 (inventories/lab.py) as
# primary and DC2 (inventories/lab_dc2.py) as backup, over HTTPS. The binary, its checksum and
# the front door are shared with the OpenSearch tier (esdr_lab/gateway_binary.py).
from esdr.crossdc.estate import load_estate_file
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_binary import *  # noqa: F401,F403

# who the gateway logs in as, and why: gateway_settings.real_clusters
gateway_clusters = _settings.real_clusters()

# A lab inventory whose entries stay plain HTTP, as the lab tests talk to them (TLS is the
# default elsewhere; plain HTTP only in a lab: esdr/checks/gateway.py)
es_lab = True
gateway_allow_plain_http = True

# The Elasticsearch lab's estate: its CA signed the clusters' certificates, so the gateway verifies
# them with it (docs/gateway-cluster-tls.md), and issues the tier's own from it
es_estate = load_estate_file(__file__, "estates/lab.yml")
