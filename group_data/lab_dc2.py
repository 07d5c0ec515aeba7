# Cluster settings for DC2 of the local lab (every host of inventories/lab_dc2.py is in group
# "lab_dc2"). Same machine settings as DC1 (group_data/lab.py); its own cluster name.
from esdr.crossdc.estate import load_estate_file
from esdr.lab import constants as _lab

ssh_user = _lab.SSH_DATA["ssh_user"]
ssh_key = _lab.SSH_DATA["ssh_key"]
ssh_strict_host_key_checking = _lab.SSH_DATA["ssh_strict_host_key_checking"]
ssh_known_hosts_file = _lab.SSH_DATA["ssh_known_hosts_file"]

es_cluster_name = "esdr-lab-dc2"
es_version = _lab.ES_VERSION
es_archive_url = f"{_lab.MIRROR_URL}/{_lab.ES_ARCHIVE}"
es_heap = "256m"
es_java_home = "/usr/lib/jvm/java-17-openjdk-amd64"
es_lab = True
# The open-files shim, as in DC1 (esdr/lab/nofile.py). Never set this on real hosts.
es_service_environment = {"LD_PRELOAD": _lab.NOFILE_SHIM}

es_estate = load_estate_file(__file__, "estates/lab.yml")
es_path_repo = ["/mnt/esdr-snapshots"]

# Security (issue 5): the lab's generated elastic password, shared with DC1 (group_data/lab.py).
from esdr.security.store import default_root as _secrets_root  # noqa: E402
from esdr.security.store import generated_secret_file as _generated  # noqa: E402

es_elastic_password = {"file": _generated(_secrets_root() / "lab" / "elastic-password")}

# Security (issue 5), as in DC1: TLS with the lab estate's CA (shared by both DCs, so remote
# connections verify), and the same generated elastic password file (0600, never in git).
from esdr.security.store import default_root as _secrets_root  # noqa: E402
from esdr.security.store import generated_secret_file as _generated  # noqa: E402

es_elastic_password = {"file": _generated(_secrets_root() / "lab" / "elastic-password")}
