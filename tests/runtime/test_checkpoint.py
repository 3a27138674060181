"""The checkpoint store: atomic records, checksums, fingerprints, one writer, crash leftovers.

No JAX here: the store is plain NumPy and JSON. A writer killed mid-write is
simulated by leaving the files such a kill leaves (a temporary file, a record
file the manifest does not list, a truncated or altered record), and by killing
a real writer process with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jakinfer.errors import InputError
from jakinfer.runtime.checkpoint import (
    CheckpointStore,
    CorruptRecordError,
    decode_arrays,
    encode_arrays,
    read_fingerprint,
    read_manifest,
    sha256_file,
    write_atomic,
)

FINGERPRINT = {"run": "decay", "seed": 3, "tolerances": [1e-8, 1e-10]}


def test_round_trip_of_arrays_meta_and_keys(tmp_path):
    arrays = {"theta": np.arange(12.0).reshape(3, 4), "flags": np.array([True, False]),
              "n": np.int64(7), "label": np.array("abc")}
    with CheckpointStore.open(tmp_path / "store", FINGERPRINT) as store:
        store.put("chunk-000001", arrays, {"phase": "warmup", "count": np.int32(3), "bad": float("nan")})
        store.put("chunk-000000", {"x": [1.5, 2.5]})
        assert store.keys() == ("chunk-000000", "chunk-000001")
        assert "chunk-000001" in store and "chunk-9" not in store and len(store) == 2
    with CheckpointStore.open(tmp_path / "store", FINGERPRINT) as store:  # reopened: same content
        record = store.get("chunk-000001")
        for name, value in arrays.items():
            np.testing.assert_array_equal(record.arrays[name], value)
            assert record.arrays[name].dtype == np.asarray(value).dtype
        assert record.meta == {"phase": "warmup", "count": 3, "bad": None}  # NaN is not JSON
        assert store.meta("chunk-000000") == {}
        with pytest.raises(KeyError, match="chunk-9"):
            store.get("chunk-9")
    assert read_fingerprint(tmp_path / "store") == FINGERPRINT
    assert read_fingerprint(tmp_path / "nowhere") is None


def test_manifest_checksums_match_the_files(tmp_path):
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        store.put("a", {"x": np.ones(5)})
        store.put("a", {"x": np.zeros(5)})  # replaced
    manifest = read_manifest(tmp_path)
    entry = manifest["records"]["a"]
    path = tmp_path / "records" / "a.npz"
    assert entry["sha256"] == sha256_file(path) and entry["bytes"] == path.stat().st_size
    np.testing.assert_array_equal(decode_arrays(path.read_bytes())["x"], np.zeros(5))


def test_a_different_fingerprint_is_refused_or_reset(tmp_path):
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        store.put("a", {"x": np.ones(2)})
    other = {**FINGERPRINT, "seed": 4}
    with pytest.raises(InputError, match=r"different run.*seed: stored 3, given 4"):
        CheckpointStore.open(tmp_path, other)
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:  # the refusal changed nothing
        assert store.keys() == ("a",)
    with CheckpointStore.open(tmp_path, other, reset=True) as store:
        assert store.keys() == ()
    assert list((tmp_path / "records").iterdir()) == []  # the old files are gone too
    assert read_fingerprint(tmp_path) == other


def test_one_writer_at_a_time(tmp_path):
    with CheckpointStore.open(tmp_path, FINGERPRINT):
        with pytest.raises(InputError, match="another process is writing"):
            CheckpointStore.open(tmp_path, FINGERPRINT)
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:  # released on close
        store.put("a", {"x": 1})
    with pytest.raises(InputError, match="closed"):
        store.put("b", {"x": 1})


def test_leftovers_of_a_killed_writer_are_never_read(tmp_path):
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        store.put("a", {"x": np.arange(3)})
    records = tmp_path / "records"
    (records / ".tmp-b.npz.x1y2").write_bytes(b"half a record")  # killed inside write_atomic
    (records / "b.npz").write_bytes(encode_arrays({"x": np.arange(4)}))  # killed before the manifest
    (tmp_path / ".tmp-manifest.json.z").write_text("{")  # killed while rewriting the manifest
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        assert store.keys() == ("a",)  # the orphan b is not a record
        assert not list(tmp_path.glob(".tmp-*")) and not list(records.glob(".tmp-*"))
        store.put("b", {"x": np.arange(5)})  # the orphan is simply overwritten
        np.testing.assert_array_equal(store.get("b").arrays["x"], np.arange(5))


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_record_fails_its_checksum(tmp_path, damage):
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        store.put("a", {"x": np.arange(100.0)})
        path = tmp_path / "records" / "a.npz"
        data = path.read_bytes()
        if damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "flip":
            path.write_bytes(data[:-10] + bytes([data[-10] ^ 1]) + data[-9:])
        else:
            path.unlink()
        assert not store.is_intact("a")
        with pytest.raises(CorruptRecordError, match="record 'a'"):
            store.get("a")
        store.discard(["a"])
        assert store.keys() == ()


def test_bad_manifests_and_keys_give_clear_errors(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        CheckpointStore.open(tmp_path, FINGERPRINT)
    (tmp_path / "manifest.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not valid JSON"):
        read_fingerprint(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99, "records": {}, "fingerprint": {}}))
    with pytest.raises(InputError, match="not a jakinfer checkpoint manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(
        {"format": 1, "fingerprint": {}, "records": {"a": {"file": "../../etc/passwd", "sha256": "", "bytes": 0,
                                                            "meta": {}}}}))
    with pytest.raises(InputError, match="malformed manifest entry"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        for key in ("", "../x", "a/b", ".hidden", "x" * 201):
            with pytest.raises(InputError, match="record key"):
                store.put(key, {"x": 1})
        with pytest.raises(InputError, match="dtype object"):
            store.put("a", {"x": np.array([{}, 1], dtype=object)})
        with pytest.raises(InputError, match="not an identifier"):
            store.put("a", {"bad name": 1})
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file"):
        CheckpointStore.open(tmp_path / "file", FINGERPRINT)


def test_write_atomic_keeps_the_old_content_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "result.txt"
    write_atomic(path, b"old")

    def disk_full(_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.txt"]  # no temporary left


def test_a_writer_killed_with_sigkill_leaves_only_complete_records(tmp_path):
    """A real process writes records in a loop and is SIGKILLed mid-stream: every listed
    record reads back intact, and the store opens again (the lock died with the writer)."""
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from jakinfer.runtime.checkpoint import CheckpointStore
        store = CheckpointStore.open(sys.argv[1], {FINGERPRINT!r})
        for i in range(100000):
            store.put(f"r{{i:06d}}", {{"x": np.full(20000, float(i))}}, {{"i": i}})
    """)
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stderr=subprocess.PIPE)
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            manifest = read_manifest(tmp_path) if (tmp_path / "manifest.json").exists() else None
            if manifest is not None and len(manifest["records"]) >= 5:
                break
            time.sleep(0.005)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL, writer.stderr.read().decode()
    with CheckpointStore.open(tmp_path, FINGERPRINT) as store:
        keys = store.keys()
        assert len(keys) >= 5
        for key in keys:
            record = store.get(key)  # checksum verified
            np.testing.assert_array_equal(record.arrays["x"], float(record.meta["i"]))
        assert keys == tuple(f"r{i:06d}" for i in range(len(keys)))  # contiguous: none half-listed
