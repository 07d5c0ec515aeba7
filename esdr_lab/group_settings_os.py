"""Group data both OpenSearch DCs of the lab share; `group_data/lab_os*.py` star-import it.

The OpenSearch counterpart of `group_settings.py`: same machine (mirror, JRE, heap, open-files
shim, shared snapshot mount), engine `opensearch` 2.19.4 with the security plugin (TLS + the
estate CA, as in production) and the cross-cluster-replication plugin, both from the lab's
mirror. Install paths and the service user follow OpenSearch's own layout
(esdr/model.py ENGINE_DEFAULTS: /opt/opensearch, /etc/opensearch, user opensearch).
"""

from __future__ import annotations

from esdr.security.store import default_root as _secrets_root
from esdr.security.store import generated_secret_file as _generated
from esdr_lab import constants as _lab

# The machine is the Elasticsearch lab's: SSH, JRE, heap, lab flag, open-files shim, snapshot mount.
from esdr_lab.group_settings import (  # noqa: F401
    es_heap,
    es_java_home,
    es_lab,
    es_path_repo,
    es_service_environment,
    ssh_key,
    ssh_known_hosts_file,
    ssh_strict_host_key_checking,
    ssh_user,
)

__all__ = [
    "ssh_user",
    "ssh_key",
    "ssh_strict_host_key_checking",
    "ssh_known_hosts_file",
    "es_engine",
    "es_version",
    "es_archive_url",
    "es_plugins",
    "es_heap",
    "es_java_home",
    "es_lab",
    "es_service_environment",
    "es_path_repo",
    "es_admin_password",
    "es_replication_password",
]

es_engine = "opensearch"
es_version = _lab.OS_VERSION
# Everything comes from the lab's mirror (a DC's internal mirror); no sha512 given: the deploy
# reads "<url>.sha512" beside each file and checks the download against it.
es_archive_url = f"{_lab.MIRROR_URL}/{_lab.OS_ARCHIVE}"
es_plugins = [
    {"name": "opensearch-security", "url": f"{_lab.MIRROR_URL}/{_lab.OS_SECURITY_PLUGIN}"},
    {
        "name": "opensearch-cross-cluster-replication",
        "url": f"{_lab.MIRROR_URL}/{_lab.OS_REPLICATION_PLUGIN}",
    },
]
# Random passwords generated on first use into the lab_os estate's secrets directory (0600,
# never in git): the admin superuser, and the replication user both DCs share. Made anew at
# each load of the group data, as group_settings.py's password: they follow XDG_DATA_HOME.
_PER_LOAD = {
    "es_admin_password": lambda: {
        "file": _generated(_secrets_root() / "lab_os" / "admin-password")
    },
    "es_replication_password": lambda: {
        "file": _generated(_secrets_root() / "lab_os" / "replication-password")
    },
}


def __getattr__(name: str) -> object:
    if name in _PER_LOAD:
        return _PER_LOAD[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
