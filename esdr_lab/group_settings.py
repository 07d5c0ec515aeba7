"""Group data every lab data centre shares; `group_data/lab*.py` star-import it.

pyinfra keeps the names a star import brings into a group data file, so each lab DC's file
only says what differs (cluster name, estate) and the machine-level settings live here once.
"""

from __future__ import annotations

import os as _os

from esdr_lab import constants as _lab
from esdr.security.store import default_root as _secrets_root
from esdr.security.store import generated_secret_file as _generated

__all__ = [
    "ssh_user",
    "ssh_key",
    "ssh_strict_host_key_checking",
    "ssh_known_hosts_file",
    "es_version",
    "es_archive_url",
    "es_heap",
    "es_java_home",
    "es_lab",
    "es_service_environment",
    "es_path_repo",
    "es_elastic_password",
    "es_fault_detection",
]

ssh_user = _lab.SSH_DATA["ssh_user"]
ssh_key = _lab.SSH_DATA["ssh_key"]
ssh_strict_host_key_checking = _lab.SSH_DATA["ssh_strict_host_key_checking"]
ssh_known_hosts_file = _lab.SSH_DATA["ssh_known_hosts_file"]

es_version = _lab.ES_VERSION
# The lab's artifact mirror stands in for a data centre's internal mirror; the deploy
# checks the archive against the .sha512 published beside it.
es_archive_url = f"{_lab.MIRROR_URL}/{_lab.ES_ARCHIVE}"
es_heap = "256m"
es_java_home = "/usr/lib/jvm/java-17-openjdk-amd64"
es_lab = True
# This machine caps open files at 20000 for everyone (no CAP_SYS_RESOURCE), below Elastic's
# bootstrap check of 65535, which no unit setting can lift here. The lab preloads a shim that
# reports the limit as 65535 (esdr_lab/nofile.py). Never set this on real hosts.
es_service_environment = {"LD_PRELOAD": _lab.NOFILE_SHIM}
# The shared snapshot mount (an NFS export in a real DC); path.repo is static: a change
# restarts the nodes.
es_path_repo = ["/mnt/esdr-snapshots"]
# A zone lost without a word costs seconds, not a minute and a half (esdr/fault_detection.py).
# ESDR_LAB_FAULT_DETECTION: benchmarks/silent_zone_loss.py measures the engine's defaults too.
es_fault_detection = _os.environ.get("ESDR_LAB_FAULT_DETECTION", "fast")
# TLS and authentication on, as in production. The elastic password is a random one generated
# on first use into the lab estate's secrets directory (0600, never in git); both DCs, the
# tests and `esdr` clients read the same file. Never do this for real estates: reference your
# vault's env var or file instead.
# The reference is made anew at each load of the group data, not once at import: the secrets
# directory follows XDG_DATA_HOME (esdr.security.store.default_root), which a process may change
# between two loads, and Python runs this module once per process. A star import asks the
# module's __getattr__ for every name of __all__ it does not hold (PEP 562,
# https://peps.python.org/pep-0562/).
_PER_LOAD = {
    "es_elastic_password": lambda: {
        "file": _generated(_secrets_root() / "lab" / "elastic-password")
    },
}


def __getattr__(name: str) -> object:
    if name in _PER_LOAD:
        return _PER_LOAD[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
