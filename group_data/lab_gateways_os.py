# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_os.py), keepalived
# front door, between the OpenSearch lab's two deployed clusters: DC1 (inventories/lab_os.py)
# as primary and DC2 (inventories/lab_os_dc2.py) as backup, over HTTPS with the security
# plugin. The binary, its checksum and the front door are shared with the Elasticsearch tier
# (esdr_lab/gateway_binary.py).
from esdr.crossdc.estate import load_estate_file
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_binary import *  # noqa: F401,F403

# who the gateway logs in as, and why: gateway_settings.real_os_clusters
gateway_clusters = _settings.real_os_clusters()

# A lab inventory, but this tier keeps production's default: the entries speak TLS with
# certificates from the estate CA, keepalived probes them over HTTPS, and the lab tests write
# through https://10.88.0.100:8000 trusting that CA (docs/gateway-front-door-tls.md). The
# Elasticsearch tiers stay plain HTTP, which only a lab may allow.
es_lab = True

# The OpenSearch lab's estate: its CA signed the clusters' certificates, so the gateway verifies
# them with it (docs/gateway-cluster-tls.md), and issues the tier's own from it
es_estate = load_estate_file(__file__, "estates/lab_os.yml")
