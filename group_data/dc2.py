# Cluster settings for DC2 (every host of inventories/dc2.py is in group "dc2").
from esdr.crossdc.estate import load_estate_file

ssh_user = "deploy"
_sudo = True

es_cluster_name = "search-dc2"
es_version = "8.19.21"
es_archive_url = (
    "https://artifacts.dc2.example.internal/elasticsearch/"
    "elasticsearch-8.19.21-linux-x86_64.tar.gz"
)
es_archive_sha512 = None  # set to the published digest before the first production run
es_data_zones = ["az1", "az2"]
es_index_replicas = 1
es_path_repo = ["/mnt/es-snapshots"]
es_settings = {
    "action.destructive_requires_name": True,
    "bootstrap.memory_lock": False,
}

es_estate = load_estate_file(__file__, "estates/prod.yml")

# Security: the elastic user's password by reference, read on the deploying machine.
es_elastic_password = {"env": "ESDR_DC2_ELASTIC_PASSWORD"}

# Security: the elastic user's password by reference, read on the deploying machine.
es_elastic_password = {"env": "ESDR_DC2_ELASTIC_PASSWORD"}
