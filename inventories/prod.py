# DC1 (Shanghai) production example: two data zones and a hidden third zone for the
# voting-only tie-breaker, as Elastic's resilience guide describes. Cluster settings: group_data/prod.py.
# `ram` is the host's memory; validation keeps es_heap at or below half of it.
# `es_cert_sans`: the IP each name resolves to, which the node publishes and TLS checks.

es_master = [
    (
        "es-dc1-master-a.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.20.0.11"], "es_heap": "4g", "ram": "16g"},
    ),
    (
        "es-dc1-master-b.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.20.0.12"], "es_heap": "4g", "ram": "16g"},
    ),
]

# Hidden zone: no data, small heap, but low latency and a fast disk (every cluster-state
# publication waits for it).
es_tiebreaker = [
    (
        "es-dc1-tiebreaker.example.internal",
        {"zone": "az3", "es_cert_sans": ["10.20.0.13"], "es_heap": "1g", "ram": "4g"},
    ),
]

es_data = [
    (
        "es-dc1-data-a1.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.20.0.21"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc1-data-a2.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.20.0.22"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc1-data-b1.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.20.0.23"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc1-data-b2.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.20.0.24"], "es_heap": "31g", "ram": "64g"},
    ),
]

# INFINI Gateway tier: NOT Elasticsearch nodes (the ES model ignores group
# `gateways`). Applications talk to the keepalived VIP 10.20.1.100:8000; the gateways write to
# the primary cluster and queue for the backup (group_data/prod.py: gateway_*).
gateways = [
    ("gw-dc1-a.example.internal", {"gateway_address": "10.20.1.11"}),
    ("gw-dc1-b.example.internal", {"gateway_address": "10.20.1.12"}),
]
