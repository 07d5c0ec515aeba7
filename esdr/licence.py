"""Is a feature usable on this cluster? Detected before anything is applied.

CCR needs two things: the x-pack CCR module in the distribution and a Platinum, Enterprise or
trial licence. SLM needs its module (it is a Basic-licence feature, so any active licence does).
Each missing piece gives one message naming the feature and the fix. A trial is only ever
started when the estate says ``licence: trial`` (and then as a planned, reported change).

Elasticsearch only: ``esdr.replication.ccr`` calls it. OpenSearch has no licence; its adapter
(``esdr.replication.opensearch``) checks the replication plugin on every node instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from elasticsearch import ApiError, Elasticsearch

from esdr.es import client

NAMES = {"ccr": "cross-cluster replication (CCR)", "slm": "snapshot lifecycle management (SLM)"}
LICENCES = {
    "ccr": frozenset({"platinum", "enterprise", "trial"}),
    "slm": frozenset({"basic", "standard", "gold", "platinum", "enterprise", "trial"}),
}
_PROBES = {"ccr": client.get_ccr_stats, "slm": client.get_slm_status}


@dataclass(frozen=True)
class FeatureStatus:
    feature: str
    module: bool  # the distribution has the x-pack module
    licence_type: str  # "basic", "trial", ... ("none" if the cluster reports no licence)
    licence_active: bool

    @property
    def licensed(self) -> bool:
        return self.licence_active and self.licence_type in LICENCES[self.feature]

    @property
    def usable(self) -> bool:
        return self.module and self.licensed


def _module_present(es: Elasticsearch, feature: str) -> bool:
    """Probe the feature's own endpoint: a missing module has no REST handler at all."""
    try:
        _PROBES[feature](es)
        return True
    except ApiError as error:
        text = str(error.body).lower()
        if "no handler found" in text or error.meta.status in (404, 405):
            return False
        if error.meta.status == 400 and "uri" in text:
            return False
        return True  # e.g. 403 "current license is non-compliant": the module answered


def feature_status(es: Elasticsearch, feature: str) -> FeatureStatus:
    licence = (client.get_license(es) or {}).get("license") or {}
    return FeatureStatus(
        feature=feature,
        module=_module_present(es, feature),
        licence_type=str(licence.get("type", "none")).lower(),
        licence_active=licence.get("status", "active") == "active",
    )


def message(status: FeatureStatus, cluster: str, trial_planned: bool = False) -> str | None:
    """One line naming the feature and the fix, or ``None`` when it is usable (or will be)."""
    name = NAMES[status.feature]
    if not status.module:
        return (f"{name} is not available on cluster {cluster}: its Elasticsearch has no x-pack "
                f"{status.feature} module (e.g. the integ-test or an OSS distribution); install "
                "Elastic's default distribution, or remove the "
                f"{'followers/auto_follow/bidirectional' if status.feature == 'ccr' else 'slm'} "
                "entries for this cluster from the estate")
    if status.licensed or trial_planned:
        return None
    needed = "a Platinum or Enterprise licence (or a trial)"
    return (f"{name} needs {needed} on cluster {cluster}, which runs "
            f"{status.licence_type!r}{'' if status.licence_active else ' (expired)'}: install "
            "a licence (PUT _license) or set `licence: trial` in the estate to start the "
            "30-day trial explicitly")


def trial_wanted(status: FeatureStatus, choice: str) -> bool:
    """Start a trial only when asked to and when it would help (module there, not licensed)."""
    return choice == "trial" and status.module and not status.licensed
