"""The local-disk photo store: partials filled from an offset, verified commits, atomic blobs."""

from __future__ import annotations

import hashlib
import io

import pytest

from sync.storage import ChunkTooLarge, LocalDiskStore

DATA = bytes(range(256)) * 40
SHA = hashlib.sha256(DATA).hexdigest()


class BrokenStream(io.BytesIO):
    """A connection that delivers some bytes and then drops."""

    def read(self, size: int = -1) -> bytes:
        block = super().read(size)
        if not block:
            raise ConnectionResetError("peer went away")
        return block


@pytest.fixture
def store(tmp_path) -> LocalDiskStore:  # noqa: ANN001
    return LocalDiskStore(tmp_path / "photos")


def test_a_partial_is_filled_from_an_offset_and_cut_there_first(store):
    assert store.partial_size("u1") == 0
    assert store.read_partial("u1", 12) == b""
    assert store.append("u1", 0, io.BytesIO(DATA[:3000]), limit=len(DATA)) == 3000
    # Resending from 2000 replaces what lay beyond it.
    assert store.append("u1", 2000, io.BytesIO(DATA[2000:2500]), limit=len(DATA)) == 2500
    assert store.partial_size("u1") == 2500
    assert store.append("u1", 2500, io.BytesIO(DATA[2500:]), limit=len(DATA) - 2500) == len(DATA)
    assert store.read_partial("u1", 4) == DATA[:4]
    assert store.commit("u1", SHA.upper())
    assert store.exists(SHA)
    assert store.partial_size("u1") == 0
    with store.open(SHA) as f:
        assert f.read() == DATA
    assert (store.root / "blobs" / SHA[:2] / SHA).is_file()


def test_a_stream_longer_than_the_limit_leaves_nothing_of_itself(store):
    store.append("u1", 0, io.BytesIO(DATA[:100]), limit=len(DATA))
    with pytest.raises(ChunkTooLarge):
        store.append("u1", 100, io.BytesIO(DATA[100:301]), limit=200)
    assert store.partial_size("u1") == 100
    assert store.append("u1", 100, io.BytesIO(DATA[100:300]), limit=200) == 300


def test_bytes_that_arrived_before_a_connection_broke_are_kept(store):
    with pytest.raises(ConnectionResetError):
        store.append("u1", 0, BrokenStream(DATA[:777]), limit=len(DATA))
    assert store.partial_size("u1") == 777


def test_a_commit_under_the_wrong_hash_keeps_nothing(store):
    store.append("u1", 0, io.BytesIO(DATA[:-1]), limit=len(DATA))
    assert not store.commit("u1", SHA)
    assert store.partial_size("u1") == 0
    assert not store.exists(SHA)


def test_committing_bytes_already_stored_only_drops_the_partial(store):
    for key in ("u1", "u2"):
        store.append(key, 0, io.BytesIO(DATA), limit=len(DATA))
        assert store.commit(key, SHA)
    assert not any((store.root / "partial").iterdir())
    assert [p.name for p in (store.root / "blobs").rglob("*") if p.is_file()] == [SHA]


@pytest.mark.parametrize("key", ["../escape", "a/b", "", "x" * 81, "u1\n"])
def test_keys_and_hashes_cannot_name_a_file_outside_the_store(store, key):
    with pytest.raises(ValueError, match="bad partial key"):
        store.partial_size(key)
    with pytest.raises(ValueError, match="bad sha256"):
        store.exists("../" + SHA[3:])
