# The real INFINI Gateway on the lab's gw1 and gw2 (inventories/lab_gateways_real.py), keepalived
# front door, between the lab's two deployed clusters: DC1 (inventories/lab.py) as primary and
# DC2 (inventories/lab_dc2.py) as backup, over HTTPS. The binary comes from the lab mirror
# (esdr_lab/artifacts.py serves the archive from shared/vendor/infini-gateway/dist, never copied
# into the repository), pinned by the sha512 shipped beside it there. The SSH settings and the
# front door are shared with the other gateway tiers (esdr_lab/gateway_settings.py).
from esdr_lab import artifacts as _artifacts
from esdr_lab import constants as _lab
from esdr_lab import gateway_settings as _settings
from esdr_lab.gateway_settings import *  # noqa: F401,F403
from esdr_lab.gateway_settings import KEEPALIVED_FRONT_DOOR as _KEEPALIVED

gateway_version = _lab.GATEWAY_VERSION
gateway_archive_url = f"{_lab.MIRROR_URL}/{_lab.GATEWAY_ARCHIVE}"
# None without shared/vendor: `esdr validate` then refuses the URL (archive-checksum-missing)
gateway_archive_sha512 = _artifacts.vendored_sha512(_lab.GATEWAY_ARCHIVE)
gateway_binary = "gateway"  # the archive holds the executable alone, under this name
gateway_front_door = _KEEPALIVED
# HTTPS to both clusters, as the lab deploys them (who the gateway logs in as, and why:
# gateway_settings.real_clusters)
gateway_clusters = _settings.real_clusters()
gateway_allow_plain_http = False
