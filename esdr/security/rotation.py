"""The estate CA's rotation, in phases that never leave two nodes unable to verify each other.

Each phase is carried out by the ordinary deploy of every cluster of the estate: the files it
puts on the nodes follow the phase recorded here (``esdr.security.certs.signing_ca_paths`` and
``trusted_ca_pem``), and a changed file restarts the node like any config change, one node at a
time, health-gated. Elastic's procedure for a new CA is the same three steps: trust the new CA
next to the old, sign node certificates with it, then stop trusting the old one
(https://www.elastic.co/guide/en/elasticsearch/reference/7.13/update-node-certs.html).

1. ``trust``: a new CA exists (``ca-next.*``); nodes trust old + new; certificates unchanged.
2. ``reissue``: the new CA signs; every node (and OpenSearch's admin) certificate is reissued.
3. ``drop``: nodes trust the new CA only.

State lives in the controller's secrets directory (``ca-rotation.json``, 0600 in a 0700 dir):
the phase and which inventories' deploys have finished it, so a rerun after an interruption
continues where it stopped. ``finish`` makes the new CA the estate CA (``ca.crt``/``ca.key``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from esdr.errors import BadInput, EsdrError
from esdr.model import Topology
from esdr.security import certs, store


@dataclass
class Rotation:
    directory: Path
    phase: str
    started: str
    done: list[str] = field(default_factory=list)  # inventories whose deploy finished the phase
    seconds: dict[str, float] = field(default_factory=dict)  # "<phase> <inventory>" -> duration

    def save(self) -> None:
        store.write_rotation(self.directory, {
            "phase": self.phase, "started": self.started, "done": self.done,
            "seconds": self.seconds,
        })

    @property
    def next_phase(self) -> str | None:
        index = certs.PHASES.index(self.phase)
        return certs.PHASES[index + 1] if index + 1 < len(certs.PHASES) else None


def rotatable_dir(topology: Topology) -> Path:
    """The estate's secrets directory, once it is clear esdr may rotate its CA."""
    cluster = topology.cluster
    if cluster.settings.get("es_ca"):
        raise BadInput(
            f"cluster {cluster.name}: es_ca brings your own CA, which esdr does not rotate",
            hint="issue a new CA yourself and point es_ca at it (every node certificate is "
            "then reissued), or drop es_ca to let esdr keep and rotate the estate CA",
        )
    directory = store.secrets_dir(cluster)
    if store.read_private(directory / "ca.crt") is None:
        raise BadInput(f"cluster {cluster.name}: no estate CA in {directory} yet",
                       hint="deploy once: the first deploy creates it")
    return directory


def current(directory: Path) -> Rotation | None:
    state = store.read_rotation(directory)
    if state is None:
        return None
    certs.rotation_phase(directory)  # refuses an unknown phase
    return Rotation(directory, str(state["phase"]), str(state.get("started", "")),
                    [str(d) for d in state.get("done", [])],
                    {str(k): float(v) for k, v in dict(state.get("seconds", {})).items()})


def start(topology: Topology, now: dt.datetime | None = None) -> Rotation:
    """Create the new CA and record phase ``trust`` (nothing on the nodes changes yet)."""
    directory = rotatable_dir(topology)
    now = now or dt.datetime.now(dt.timezone.utc)
    with store.locked(directory, "starting a CA rotation"):
        # Read again under the lock: another rotate-ca may have started one meanwhile, and a
        # second new CA would replace the one its first deploy already made nodes trust.
        if store.read_rotation(directory) is not None:
            raise EsdrError(f"{directory}: a CA rotation was started meanwhile by another run",
                            hint="rerun esdr certs rotate-ca: it continues that rotation")
        old = store.read_private(directory / "ca.crt")
        assert old is not None
        # A subject of its own: two CAs with one name in one trust store make chain building
        # depend on which one a TLS library tries first.
        name = f"esdr estate CA {store.estate_name(topology.cluster)} {now:%Y%m%dT%H%M%SZ}"
        cert_pem, key_pem = certs.create_ca(name, int(topology.cluster["es_ca_days"]), now)
        store.write_private(directory / certs.NEXT_CA[1], key_pem)
        store.write_private(directory / certs.NEXT_CA[0], cert_pem)
        # Controller clients trust both for the whole rotation: nodes move between them.
        store.write_private(directory / certs.CA_BUNDLE, old + cert_pem)
        rotation = Rotation(directory, certs.PHASES[0], now.isoformat(timespec="seconds"))
        rotation.save()  # last: until here, no deploy sees a rotation
    return rotation


def phase_done(rotation: Rotation, inventory: str, seconds: float) -> None:
    """Record that ``inventory``'s deploy carried out the current phase."""
    if inventory not in rotation.done:
        rotation.done.append(inventory)
    rotation.seconds[f"{rotation.phase} {inventory}"] = round(seconds, 1)
    rotation.save()


def advance(rotation: Rotation) -> str | None:
    """The next phase, recorded (its deploys still to run); ``None`` once the rotation is
    finished and the new CA is the estate CA."""
    following = rotation.next_phase
    if following is None:
        finish(rotation.directory)
        return None
    rotation.phase, rotation.done = following, []
    rotation.save()
    return following


def finish(directory: Path) -> None:
    """The new CA becomes ``ca.crt``/``ca.key``. Ordered so an interruption anywhere leaves a
    state the next run reads right: while the state file says ``drop``, signing and trust read
    ``ca-next.*``, which stay until the state is gone."""
    with store.locked(directory, "finishing the CA rotation"):
        cert_pem = store.read_private(directory / certs.NEXT_CA[0])
        key_pem = store.read_private(directory / certs.NEXT_CA[1])
        if not cert_pem or not key_pem:
            raise EsdrError(f"{directory}: the new CA ({', '.join(certs.NEXT_CA)}) is missing",
                            hint="restore it from a backup: the nodes trust only it now")
        store.write_private(directory / "ca.key", key_pem)
        store.write_private(directory / "ca.crt", cert_pem)
        store.remove(directory / store.ROTATION_STATE)
        for name in (*certs.NEXT_CA, certs.CA_BUNDLE):
            store.remove(directory / name)


PLAN = {
    "trust": "every node trusts the old and the new CA (its ca.crt becomes a bundle of both)",
    "reissue": "every node certificate is reissued under the new CA",
    "drop": "the old CA leaves every node's trust bundle",
}
