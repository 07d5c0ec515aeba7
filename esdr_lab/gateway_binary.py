"""Group data of the lab's tiers that run the real gateway binary behind keepalived.

`group_data/lab_gateways_real.py` (between the Elasticsearch DCs) and
`group_data/lab_gateways_os.py` (between the OpenSearch DCs) star-import it, then name their
clusters. The binary comes from the lab mirror: esdr_lab/artifacts.py serves the archive that
scripts/build-gateway builds from shared/vendor/infini-gateway's source bundle with
patches/infini-gateway/ (the gateway then verifies the clusters' certificates:
docs/gateway-cluster-tls.md), pinned by the sha512 written beside the build. Loading this group
data builds it when it is not cached yet (~2 min, progress on stderr).
"""

from __future__ import annotations

from esdr_lab import artifacts as _artifacts
from esdr_lab import constants as _lab
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_settings import *  # noqa: F401,F403
from esdr_lab.gateway_settings import KEEPALIVED_FRONT_DOOR as _KEEPALIVED

__all__ = [  # noqa: PLE0604 (gateway_settings' names, then the binary's)
    *_settings.__all__,
    "gateway_version",
    "gateway_archive_url",
    "gateway_archive_sha512",
    "gateway_binary",
    "gateway_front_door",
]

gateway_version = _lab.GATEWAY_VERSION
gateway_archive_url = f"{_lab.MIRROR_URL}/{_lab.GATEWAY_ARCHIVE}"
# None without shared/vendor (or when the build fails, which says why on stderr): `esdr validate`
# then refuses the URL (archive-checksum-missing)
gateway_archive_sha512 = _artifacts.gateway_sha512()
gateway_binary = "gateway"  # the archive holds the executable alone, under this name
gateway_front_door = _KEEPALIVED
# HTTPS to both clusters, as the lab deploys them: each tier's group data names its clusters
gateway_allow_plain_http = False
