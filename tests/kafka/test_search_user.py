"""The pipelines' own users, the pure part (esdr.kafka.search_user): which clusters get them,
their names, and roles that never grant more than the pipeline does."""

from __future__ import annotations

from esdr.kafka import search_user
from tests.kafka.factory import estate, raw


def test_only_clusters_without_credentials_that_are_this_cluster_get_users() -> None:
    data = raw()
    del data["search_clusters"]["esdr-dc1"]["password_variable"]
    model = estate(data)
    assert search_user.local_clusters(model, {"esdr-dc1", "dc1"}) == ["esdr-dc1"]
    users = search_user.pipeline_users(model, ["esdr-dc1", "esdr-dc2"])
    # esdr-dc2 names its credentials: its pipelines write as that user, esdr keeps none
    assert list(users) == ["esdr-orders-esdr-dc1"]
    user = users["esdr-orders-esdr-dc1"]
    assert (user.pipeline, user.cluster, user.target) == ("orders", "esdr-dc1", "orders")
    assert search_user.password_name(user.ident) == "pipeline-user-esdr-orders-esdr-dc1-password"


def test_the_role_writes_the_way_the_pipeline_does_and_never_deletes() -> None:
    index = search_user.role_body("elasticsearch", "orders", "index", "x")
    create = search_user.role_body("elasticsearch", "orders", "create", "x")
    assert index["indices"] == [{"names": ["orders"], "privileges": ["create_index", "index"]}]
    assert create["indices"] == [{"names": ["orders"],
                                  "privileges": ["create_doc", "create_index"]}]
    for body in (index, create):
        assert body["cluster"] == ["monitor"]
        assert not {"write", "delete", "all", "manage"} & set(body["indices"][0]["privileges"])
    opensearch = search_user.role_body("opensearch", "orders", "index", "x")
    assert opensearch["index_permissions"] == [{"index_patterns": ["orders"],
                                                "allowed_actions": ["create_index", "index"]}]
    # what the engines answer, with their defaults, reads back as what was put
    answer = {**opensearch, "reserved": False, "hidden": False, "static": False,
              "tenant_permissions": [],
              "index_permissions": [{"fls": [], "masked_fields": [],
                                     **opensearch["index_permissions"][0]}]}
    assert search_user.observed_role("opensearch", answer) == search_user.normalized_role(
        "opensearch", opensearch)


def test_the_user_body_holds_the_password_and_its_shape_only_the_marker() -> None:
    body = search_user.user_body("elasticsearch", "u", "u", "s3cret-password", "m" * 64)
    assert body["password"] == "s3cret-password" and body["roles"] == ["u"]
    seen = search_user.observed_user("elasticsearch", {k: v for k, v in body.items()
                                                       if k != "password"})
    assert seen == search_user.wanted_user("u", "m" * 64)
    assert "s3cret" not in repr(seen)
