"""The lab mirror's Kafka archive: Maven Central's jars in the official tarball's layout, packed
so that the same jars always give the same bytes (so the same sha512 the deploy checks)."""

from __future__ import annotations

import tarfile

from esdr_lab import artifacts, constants


def _jars(directory):
    libs = directory / "libs"
    libs.mkdir()
    (libs / "kafka_2.13-4.4.0.jar").write_bytes(b"main jar")
    (libs / "kafka-clients-4.4.0.jar").write_bytes(b"clients jar" * 100)
    (libs / ".complete").write_text("kafka 4.4.0\n")  # the fetch's marker, not a jar
    return libs


def test_the_packed_jars_unpack_in_the_official_layout(tmp_path):
    target = tmp_path / constants.KAFKA_ARCHIVE
    artifacts.pack_kafka_jars(_jars(tmp_path), target)
    with tarfile.open(target) as tar:
        names = tar.getnames()
        assert names == [constants.KAFKA_TOP_DIR, f"{constants.KAFKA_TOP_DIR}/libs",
                         f"{constants.KAFKA_TOP_DIR}/libs/kafka-clients-4.4.0.jar",
                         f"{constants.KAFKA_TOP_DIR}/libs/kafka_2.13-4.4.0.jar"]
        jar = tar.extractfile(f"{constants.KAFKA_TOP_DIR}/libs/kafka_2.13-4.4.0.jar")
        assert jar.read() == b"main jar"


def test_the_same_jars_pack_to_the_same_bytes(tmp_path):
    libs = _jars(tmp_path)
    first, second = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    artifacts.pack_kafka_jars(libs, first)
    (libs / "kafka_2.13-4.4.0.jar").touch()  # a newer time, same content
    artifacts.pack_kafka_jars(libs, second)
    assert first.read_bytes() == second.read_bytes()
    (libs / "kafka_2.13-4.4.0.jar").write_bytes(b"another main jar")
    artifacts.pack_kafka_jars(libs, second)
    assert first.read_bytes() != second.read_bytes()


def test_the_mirror_catalogue_serves_the_kafka_archive():
    (artifact,) = artifacts.needed_for([constants.KAFKA_ARCHIVE])
    assert artifact.packed and artifact.filename == constants.KAFKA_ARCHIVE


def test_the_mirror_fetches_what_the_estates_kafka_section_names():
    """An inventory whose estate installs Kafka from the mirror gets the archive packed (the
    lab up reads every host's URLs; Kafka's is in the estate, not in host data)."""
    url = f"{constants.MIRROR_URL}/{constants.KAFKA_ARCHIVE}"
    data = {"es_archive_url": f"{constants.MIRROR_URL}/{constants.OS_ARCHIVE}",
            "es_estate": {"kafka": {"kafka_clusters": {"k": {"install": {"archive_url": url}}}}}}
    assert artifacts.mirror_files(artifacts.urls_of(data)) == (constants.OS_ARCHIVE,
                                                               constants.KAFKA_ARCHIVE)
    assert artifacts.urls_of({"es_estate": {"kafka": None}}) == [None, None]
