# Cluster settings for DC1 (every host of inventories/prod.py is in group "prod").
ssh_user = "deploy"
_sudo = True

es_cluster_name = "search-dc1"
es_version = "8.19.21"
# Mirror Elastic's archive internally; pin its sha512 (from the .sha512 Elastic publishes).
es_archive_url = (
    "https://artifacts.dc1.example.internal/elasticsearch/"
    "elasticsearch-8.19.21-linux-x86_64.tar.gz"
)
es_archive_sha512 = None  # set to the published digest before the first production run
es_data_zones = ["az1", "az2"]
es_index_replicas = 1
es_path_repo = ["/mnt/es-snapshots"]
# A zone lost without a word is given up in seconds (docs/silent-failures.md); every host
# also runs net.ipv4.tcp_retries2 = 5 (tcp_retries2, Elastic's value, the default).
es_fault_detection = "fast"
es_settings = {
    "action.destructive_requires_name": True,
    "bootstrap.memory_lock": False,
}

# INFINI Gateway tier. Primary and backup cluster: until the cross-DC design supplies
# them, named here. The gateway logs in to both as esdr_gateway, the user the Elasticsearch
# deploy creates on every node (cluster privilege monitor only, esdr/gateway/cluster_user.py)
# with the estate's generated password: a reference to <secrets dir>/gateway-password, read on
# the deploying machine (deploy the clusters first); hosts get it in a 0600 EnvironmentFile.
# The secrets dir is the prod estate's (move this with es_secrets_dir). Another login: give
# "username" and "password" ({"env": ...} or {"file": ...}) in an entry instead of the login.
# version + distribution pinned: the gateway then starts even while a cluster is down.
from esdr.gateway.cluster_user import login as _gateway_login  # noqa: E402
from esdr.security.store import default_root as _secrets_root  # noqa: E402

_GATEWAY_LOGIN = _gateway_login(str(_secrets_root() / "prod"))
gateway_clusters = {
    "primary": {
        "name": "search-dc1",
        "endpoints": [
            "https://es-dc1-data-a1.example.internal:9200",
            "https://es-dc1-data-b1.example.internal:9200",
        ],
        **_GATEWAY_LOGIN,
        "version": es_version,
        "distribution": "elasticsearch",
    },
    "backup": {
        "name": "search-dc2",
        "endpoints": [
            "https://es-dc2-data-a1.example.internal:9200",
            "https://es-dc2-data-b1.example.internal:9200",
        ],
        **_GATEWAY_LOGIN,
        "version": es_version,
        "distribution": "elasticsearch",
    },
}
gateway_version = "1.29.4"
# INFINI Gateway is in no package registry: mirror the release tarball internally.
gateway_archive_url = (
    "https://artifacts.dc1.example.internal/infini/gateway-1.29.4-linux-amd64.tar.gz"
)
# Required with the URL (INFINI publishes no checksum): `sha256sum` of the tarball you mirrored.
gateway_archive_sha256 = "0" * 64  # placeholder: replace with your mirrored file's digest
gateway_front_door = {
    "kind": "keepalived",
    "interface": "eth0",
    "nopreempt": False,
    "unicast": True,
    "vips": [
        {
            "address": "10.20.1.100/24",
            "virtual_router_id": 51,
            "priorities": {"gw-dc1-a.example.internal": 150, "gw-dc1-b.example.internal": 100},
        }
    ],
}

# Cross-DC design shared with DC2: group_data/estates/prod.yml.
from esdr.crossdc.estate import load_estate_file  # noqa: E402

es_estate = load_estate_file(__file__, "estates/prod.yml")

# Security: the elastic user's password by reference, read on the deploying machine.
# Certificates: the estate CA in ~/.local/share/esdr/secrets/prod (es_secrets_dir to move it).
es_elastic_password = {"env": "ESDR_DC1_ELASTIC_PASSWORD"}
