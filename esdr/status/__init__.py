"""``esdr status``: the estate at a glance for the on-call.

``report`` is pure (what was observed, the thresholds, the verdicts, text and JSON);
``read`` gathers the observations from the clusters, every read bounded by one deadline.
docs/status.md says what each line means.
"""
