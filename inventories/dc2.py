# DC2 (Beijing) production example: the same zone shape as DC1 (inventories/prod.py). It follows
# DC1 with CCR, so its data nodes also hold the remote connections (es_remote_cluster_client).
# Cluster settings: group_data/dc2.py; the cross-DC design: group_data/estates/prod.yml.

es_master = [
    (
        "es-dc2-master-a.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.30.0.11"], "es_heap": "4g", "ram": "16g"},
    ),
    (
        "es-dc2-master-b.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.30.0.12"], "es_heap": "4g", "ram": "16g"},
    ),
]

es_tiebreaker = [
    (
        "es-dc2-tiebreaker.example.internal",
        {"zone": "az3", "es_cert_sans": ["10.30.0.13"], "es_heap": "1g", "ram": "4g"},
    ),
]

es_data = [
    (
        "es-dc2-data-a1.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.30.0.21"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc2-data-a2.example.internal",
        {"zone": "az1", "es_cert_sans": ["10.30.0.22"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc2-data-b1.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.30.0.23"], "es_heap": "31g", "ram": "64g"},
    ),
    (
        "es-dc2-data-b2.example.internal",
        {"zone": "az2", "es_cert_sans": ["10.30.0.24"], "es_heap": "31g", "ram": "64g"},
    ),
]

es_remote_cluster_client = es_data
