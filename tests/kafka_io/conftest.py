"""The real Kafka broker on loopback (esdr_lab/kafka_broker.py) the modules here test against:
one per module that asks for it, stopped by pid after its last test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esdr_lab import kafka_broker


@pytest.fixture(scope="module")
def broker() -> Iterator[kafka_broker.Broker]:
    libs = kafka_broker.jars_or_skip()
    started = kafka_broker.start(libs=libs)
    try:
        yield started
    finally:
        kafka_broker.stop(started)
