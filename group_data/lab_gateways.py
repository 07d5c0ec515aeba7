# Gateway tier of the local lab, keepalived front door (every host of
# inventories/lab_gateways.py is in group "lab_gateways"). The SSH settings and the two lab
# clusters are shared with the other gateway tiers (esdr_lab/gateway_settings.py).
from esdr_lab.gateway_settings import *  # noqa: F401,F403
from esdr_lab.gateway_settings import KEEPALIVED_FRONT_DOOR as _KEEPALIVED

# The gateway here is a stand-in (tests/gateway_lab/test_front_door_lab.py); the real binary runs
# with inventories/lab_gateways_real.py. No gateway_archive_url: the deploy says it skips the
# binary.
gateway_front_door = _KEEPALIVED

# A lab inventory (plain HTTP on the entries is allowed only in one: esdr/checks/gateway.py)
es_lab = True
