"""`esdr failback` resumes the survivor's other followers of the returned DC that paused while
it was away (the OpenSearch plugin pauses a follower whose leader cannot be reached; seen in
the lab for the bi-directional pair's follower), so the plan after a failback has no drift."""

from __future__ import annotations

from esdr.es import client
from esdr.runbooks import failback
from esdr.runbooks.failback import Promoted


class Adapter:
    RESUME = ("resume",)

    def __init__(self, followers, failures=0):
        self.es = "dc2-es"
        self.followers = followers
        self.failures = failures
        self.ran = []

    def follower(self, name):
        return self.followers.get(name)

    def run(self, action, name):
        if self.failures:
            self.failures -= 1
            raise client.API_ERRORS[-1](500, "no such remote cluster: dc1", None)
        self.ran.append((action, name))
        self.followers[name] = {**self.followers[name], "status": "active"}


PROMOTED = [Promoted("orders", "dc2", "dc1", "orders")]


def paused(remote):
    return {"remote_cluster": remote, "leader_index": "x", "status": "paused"}


def test_paused_followers_of_the_returned_dc_resume_and_nothing_else():
    dc2 = Adapter({"events-dc1": paused("dc1"), "other-dc3": paused("dc3"),
                   "orders": {}, "logs-a": {**paused("dc1"), "status": "active"}},
                  failures=2)  # the restored link takes a moment to connect
    lines = []
    managed = {"dc2": {"events-dc1", "orders", "other-dc3", "logs-a", "gone"}}
    failback._resume_paused({"dc2": dc2}, PROMOTED, managed, lines.append,
                            sleep=lambda s: None)
    assert dc2.ran == [("resume", "events-dc1")]
    assert lines == ["[dc2] events-dc1 resumed (paused while dc1 was away)"]


def test_a_follower_that_will_not_resume_is_named_and_left_to_the_deploy():
    dc2 = Adapter({"events-dc1": paused("dc1")}, failures=10**6)
    lines = []
    failback._resume_paused({"dc2": dc2}, PROMOTED, {"dc2": {"events-dc1"}}, lines.append,
                            wait=0.0, sleep=lambda s: None)
    assert dc2.ran == [] and lines[0].startswith("[dc2] WARNING: events-dc1 is still paused (")
    assert lines[0].endswith("the next deploy resumes it")
