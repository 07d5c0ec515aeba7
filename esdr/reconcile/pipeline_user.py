"""The Kafka pipelines' own users in this cluster (``esdr.kafka.search_user`` has the shape and
says why each privilege): observe, a pure plan, apply.

One object per pipeline feeding this cluster, named after the pipeline id: a role that may
write to the pipeline's target alone, and a user holding only that role, whose password esdr
generates into the estate's secrets directory. Like every object esdr manages, it is recorded
in ``esdr-managed`` and deleted only when the estate drops the pipeline and the destructive
switch is given; a role or user of that name esdr did not create is noted and left alone.

Neither engine returns a password, so the user carries a marker of it (an HMAC from the estate
key) and the plan compares that: a password not yet generated, or generated anew, is drift.

OpenSearch: users and roles made through the security plugin's REST API live in its security
index, which ``securityadmin`` replaces from the files it loads. A deploy that reloads those
files (esdr's own users changed) therefore removes the pipeline users for a moment; this step
runs after it in the same deploy and puts them back. Meanwhile the pipeline's bulk requests get
401, which it retries without end (esdr.kafka.pipeline_service, ``item_outcome``): Kafka keeps
the messages, nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esdr.changes import Change, Note, plan_each, plan_object
from esdr.es import client
from esdr.es.client import Api
from esdr.kafka import search_user
from esdr.kafka.model import parse_kafka_estate
from esdr.security import store
from esdr.security.config import marker

KIND = "pipeline_user"


@dataclass(frozen=True, repr=False)
class UserSecrets:
    """Where the pipeline users' passwords are kept: the estate's secrets directory, and this
    deploy's staging of it (what the pipeline hosts' part of the deploy generated while it was
    prepared and stores when it executes), so the user and the pipeline's password file get
    the same password."""

    directory: Path
    staged: store.Staged | None = field(default=None)

    def __repr__(self) -> str:
        return f"UserSecrets({self.directory})"

    def _path(self, ident: str) -> Path:
        return self.directory / search_user.password_name(ident)

    def stored(self, ident: str) -> str | None:
        """The password when it exists (stored, or staged by this deploy); never made here."""
        path = self._path(ident)
        data = self.staged.get(path) if self.staged is not None else None
        if data is None:
            data = store.read_private(path, secret=True)
        return data.decode().rstrip("\n") if data and data.strip() else None

    def password(self, ident: str) -> str:
        """The password, generated now when there is none, and on disk when this returns: the
        user is set with it, so the pipeline host's file must hold the same one."""
        path = self._path(ident)
        staged = self.staged.get(path) if self.staged is not None else None
        if staged is not None and staged.strip():
            if store.read_private(path, secret=True) != staged:
                store.write_or_stage(path, staged, None, root=self.directory)
            return staged.decode().rstrip("\n")
        return store.generated_password(self.directory, search_user.password_name(ident))

    def marker_key(self, create: bool) -> bytes | None:
        path = self.directory / "marker.key"
        key = store.read_staged(path, self.staged)
        if key or not create:
            return key or None
        return store.marker_key(self.directory, self.staged)

    def marker(self, ident: str, password: str | None, create: bool = False) -> str | None:
        key = self.marker_key(create)
        if password is None or key is None:
            return None
        return marker(key, search_user.MARKER_PURPOSE, f"{ident}\0{password}")


def users_of(estate_raw: Any, names: set[str]) -> dict[str, search_user.PipelineUser]:
    """The pipeline users of this cluster (known by ``names``: its cluster name and estate
    alias) from the estate's ``kafka:`` section; none without one. A section that does not
    parse gives none either: ``esdr validate`` and the deploy's preflight refuse it."""
    if not isinstance(estate_raw, Mapping) or not isinstance(estate_raw.get("kafka"), Mapping):
        return {}
    estate, _ = parse_kafka_estate(estate_raw["kafka"])
    if estate is None:
        return {}
    return search_user.pipeline_users(estate, search_user.local_clusters(estate, names))


def desired_pipeline_users(users: Mapping[str, search_user.PipelineUser],
                           secrets: UserSecrets, engine: str) -> dict[str, dict[str, Any]]:
    """What each user must be, as ``observe_pipeline_users`` shapes what is there, in the
    security API of ``engine``: the engine this cluster runs, whatever the kafka section says
    of it."""
    out = {}
    for ident, user in users.items():
        role = search_user.role_body(engine, user.target, user.action, ident)
        out[ident] = {
            "role": search_user.normalized_role(engine, role),
            "user": search_user.wanted_user(ident, secrets.marker(ident, secrets.stored(ident))),
        }
    return out


def observe_pipeline_users(es: Api, names: set[str]) -> dict[str, dict[str, Any]]:
    """Role and user of each name, when either exists (both None: absent)."""
    engine = "opensearch" if client.is_opensearch(es) else "elasticsearch"
    out = {}
    for name in sorted(names):
        role = search_user.observed_role(engine, client.get_security_object(es, "role", name))
        user = search_user.observed_user(engine, client.get_security_object(es, "user", name))
        if role is not None or user is not None:
            out[name] = {"role": role, "user": user}
    return out


def plan_pipeline_users(desired: dict[str, dict[str, Any]], observed: dict[str, dict[str, Any]],
                        managed: set[str]) -> tuple[list[Change], list[Note]]:
    return plan_each(lambda n, d, o, m: plan_object(KIND, n, d, o, m), desired, observed,
                     managed)


def apply_pipeline_users(es: Api, changes: list[Change], secrets: UserSecrets) -> None:
    """The role first, then the user holding it (with its password); a delete the other way
    round."""
    engine = "opensearch" if client.is_opensearch(es) else "elasticsearch"
    for change in changes:
        name = change.name
        if change.action == "deleted":
            client.delete_security_object(es, "user", name)
            client.delete_security_object(es, "role", name)
        elif change.action in ("created", "changed"):
            role = dict(change.after["role"])
            client.put_security_object(es, "role", name, _role_request(engine, role))
            password = secrets.password(name)
            mark = secrets.marker(name, password, create=True)
            assert mark is not None
            client.put_security_object(
                es, "user", name, search_user.user_body(engine, name, name, password, mark))


def _role_request(engine: str, normalized: dict[str, Any]) -> dict[str, Any]:
    """The normalized role back as the API takes it (the two are the same fields)."""
    if engine == "opensearch":
        return normalized
    return {**normalized, "metadata": {"esdr": normalized["metadata"]["esdr"]}}
