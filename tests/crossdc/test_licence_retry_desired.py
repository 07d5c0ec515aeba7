"""Feature/licence detection, bounded retries, and what one cluster must hold."""

from __future__ import annotations

import inspect

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from esdr import licence
from esdr.desired import desired_for
from esdr.crossdc.estate import parse_estate
from esdr.errors import EsdrError
from esdr.reconcile.retry import with_retries
from esdr.tasks import post_deploy
from tests.crossdc.fake_es import fake_client, fake_topology
from tests.crossdc.test_estate_validate import GOOD, _topology

NO_HANDLER = {"error": "no handler found for uri [/_ccr/stats] and method [GET]"}
NON_COMPLIANT = {"error": {"type": "security_exception",
                           "reason": "current license is non-compliant for [ccr]"}, "status": 403}


def _licence(kind: str, status: str = "active") -> dict:
    return {"license": {"status": status, "uid": "x", "type": kind, "issued_to": "lab"}}


@pytest.mark.parametrize("case,licence_type,probe,expect", [
    ("module missing", "basic", (400, NO_HANDLER), "no x-pack ccr module"),
    ("basic licence", "basic", (403, NON_COMPLIANT), "needs a Platinum or Enterprise"),
    ("platinum", "platinum", (200, {"auto_follow_stats": {}, "follow_stats": {}}), None),
    ("trial", "trial", (200, {"auto_follow_stats": {}, "follow_stats": {}}), None),
])
def test_ccr_detection(case, licence_type, probe, expect):
    es, wire = fake_client([
        ("GET", "/_license", None, 200, _licence(licence_type)),
        ("GET", "/_ccr/stats", None, *probe),
    ])
    status = licence.feature_status(es, "ccr")
    wire.done()
    text = licence.message(status, "search-dc2")
    if expect is None:
        assert text is None and status.usable
    else:
        assert expect in text and "search-dc2" in text


def test_trial_is_only_planned_when_asked_for():
    status = licence.FeatureStatus("ccr", module=True, licence_type="basic", licence_active=True)
    assert not licence.trial_wanted(status, "basic")
    assert licence.trial_wanted(status, "trial")
    assert licence.message(status, "c", trial_planned=True) is None
    missing = licence.FeatureStatus("ccr", module=False, licence_type="basic", licence_active=True)
    assert not licence.trial_wanted(missing, "trial")  # a trial cannot add a module


def test_slm_is_a_basic_feature_once_its_module_is_there():
    status = licence.FeatureStatus("slm", module=True, licence_type="basic", licence_active=True)
    assert status.usable


def _unavailable() -> ApiError:
    meta = ApiResponseMeta(503, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    return ApiError("master_not_discovered_exception", meta, {})


def test_retries_are_bounded_with_backoff_then_one_clear_error():
    slept: list[float] = []
    calls = []

    def down():
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(EsdrError, match="stayed unavailable after 5 attempts"):
        with_retries("GET _cluster/settings", down, sleep=slept.append)
    assert len(calls) == 5 and slept == [1.0, 2.0, 4.0, 8.0]


def test_retry_recovers_from_a_brief_outage_and_never_retries_a_bad_request():
    answers = iter([_unavailable(), "ok"])

    def flaky():
        value = next(answers)
        if isinstance(value, Exception):
            raise value
        return value

    assert with_retries("x", flaky, sleep=lambda _: None) == "ok"
    meta = ApiResponseMeta(400, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    with pytest.raises(ApiError):
        with_retries("x", lambda: (_ for _ in ()).throw(ApiError("bad", meta, {})),
                     sleep=lambda _: None)


def test_desired_for_each_side_of_the_estate():
    estate = parse_estate(GOOD)
    dc1 = desired_for(estate, _topology("search-dc1"))
    dc2 = desired_for(estate, _topology("search-dc2"))
    assert dc1.remotes["dc2"] == {"mode": "sniff", "seeds": ["10.0.2.4:9300"],
                                  "skip_unavailable": True}
    assert dc1.repositories["dr"]["settings"] == {"location": "/mnt/snap"}
    assert dc2.repositories["dr"]["settings"] == {"location": "/mnt/snap", "readonly": True}
    assert set(dc1.slm) == {"nightly"} and not dc2.slm
    # bi-directional: each follows the other's local index
    assert set(dc1.followers) == {"logs-dc2"} and set(dc2.followers) == {"orders", "logs-dc1"}
    # a read alias with no write index: replication copies aliases onto followers, so a write
    # flag would reach the other DC as a second write index; each DC writes its index by name
    assert dc1.aliases["logs"].members == {"logs-dc1": False, "logs-dc2": False}
    assert dc2.aliases["logs"].members == {"logs-dc1": False, "logs-dc2": False}
    assert dc1.aliases["orders-w"].members == {"orders": True}  # the leader side writes
    assert dc2.aliases["orders-w"].members == {"orders": False}  # a follower only reads
    assert dc1.indices == ("logs-dc1",)
    assert dc1.needs == {"ccr", "slm"} and dc2.needs == {"ccr"}


def test_post_deploy_callbacks_receive_state_and_host():
    # pyinfra passes (state, host) only to functions whose parameters carry those names.
    for function in (post_deploy._apply, post_deploy._fail):
        assert inspect.getfullargspec(function).args[:2] == ["state", "host"]


def test_fake_topology_is_a_model():
    assert fake_topology().cluster.name == "dc2-cluster"
