"""Cluster-level objects as converged state: one module per object kind.

Each module has ``observe_<kind>`` (read; not found is a value), a pure ``plan_<kind>`` returning
``Change``/``Note`` values, and ``apply_<kind>`` (writes, then the engine observes again).
``run.py`` plans and applies them in a fixed order: licence, cluster settings (awareness and
remote clusters), snapshot repositories, SLM policies, follower indices, auto-follow patterns,
indices and aliases. Follower indices and auto-follow rules are planned once for both engines;
the engine's adapter (``esdr.replication``: Elasticsearch CCR or OpenSearch's replication
plugin) observes them, checks the feature and runs the API steps.

Ownership: esdr only ever deletes what it created. The names it manages are kept per cluster in
the hidden index ``esdr-managed`` (``registry.py``) because repositories, SLM policies,
auto-follow patterns and aliases have no metadata field to mark them; anything else found is
reported as foreign and left alone.
"""
