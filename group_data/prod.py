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
es_settings = {
    "action.destructive_requires_name": True,
    "bootstrap.memory_lock": False,
}
