"""An atomic, checksummed store of finished work: chunks of draws, replicates, tasks.

Long computations (a NUTS run, an SBC study, a campaign of fits) save each
finished piece as a *record* (named NumPy arrays plus a small JSON `meta`), so
that a run killed at any moment resumes from its last complete record.

Layout of a store directory::

    manifest.json     {"format": 1, "fingerprint": {...},
                       "records": {key: {"file", "sha256", "bytes", "meta"}}}
    records/KEY.npz   one record's arrays (NumPy `.npz`, never pickles)
    lock              held (`flock`) by the one process writing the store

Write protocol of `put`: the `.npz` bytes go to a temporary file beside their
destination, are flushed and `fsync`-ed, and `os.replace`-d onto their name;
then `manifest.json` is rewritten the same way with the record listed (and the
directory entries `fsync`-ed). A record exists only once the manifest lists it,
and `get` checks its SHA-256 before use, so a half-written file (a kill, a full
disk, a power cut) is never read as valid: it is either not listed (an orphan,
overwritten later) or fails its checksum (`CorruptRecordError`).

The `fingerprint` (any JSON object: settings, input hashes) names what the
stored work belongs to; opening the store with another fingerprint is refused
unless `reset=True`, so records of one run never mix with another's.

One writer at a time: `CheckpointStore.open` takes an exclusive `flock` on the
`lock` file (released by the OS when the process ends, SIGKILL included) and
refuses a second writer. Readers (`read_fingerprint`) need no lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jakinfer.errors import InputError

try:  # POSIX advisory locks; elsewhere the store is unlocked (documented single writer)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

STORE_FORMAT = 1
"""Version of the manifest layout."""

MANIFEST = "manifest.json"
RECORDS = "records"
LOCK = "lock"

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")
_ARRAY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_TEMPORARY_PREFIX = ".tmp-"


class CorruptRecordError(InputError):
    """A listed record's file is missing or does not match its checksum."""


# -- atomic files ------------------------------------------------------------------
def fsync_directory(directory: str | Path) -> None:
    """Flush `directory`'s entries (a rename in it) to disk; a no-op where unsupported."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(descriptor)


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either its old or its new content.

    The bytes go to a temporary file in the same directory, which is flushed,
    `fsync`-ed and renamed onto `path` (`os.replace`, atomic on POSIX); the
    directory is then `fsync`-ed so the rename survives a power cut. The file
    gets the usual permissions (0666 minus the umask).
    """
    write_with_atomic(path, lambda temporary: _write_synced(temporary, data))


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_with_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """`write_atomic` for writers that need a file name (`write(temporary_path)`, e.g. netCDF).

    `write` fills a temporary file in `path`'s directory, which then gets the usual
    permissions and is renamed onto `path`; on any error the temporary file is removed.

    Returns:
        `path`.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=_TEMPORARY_PREFIX + path.name + ".", dir=path.parent)
    os.close(descriptor)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)
    return path


def write_json_atomic(path: str | Path, content: object) -> None:
    """`write_atomic` of `content` as indented JSON (NaN and infinities refused)."""
    text = json.dumps(content, indent=2, sort_keys=False, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, block: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_ready(value: object) -> object:
    """`value` with NumPy scalars/arrays as Python numbers/lists and non-finite floats as None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- records -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """One stored piece of work.

    Attributes:
        key: its name in the store.
        arrays: named NumPy arrays (any shapes, no object dtype).
        meta: a JSON object (settings, counts, timings).
    """

    key: str
    arrays: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)


def encode_arrays(arrays: Mapping[str, object]) -> bytes:
    """Arrays -> `.npz` bytes (uncompressed; object arrays refused)."""
    prepared = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _ARRAY_NAME.match(name):
            raise InputError(f"array name {name!r} is not an identifier")
        array = np.asarray(value)
        if array.dtype.kind == "O":
            raise InputError(f"array {name!r} has dtype object; store numbers, booleans or strings")
        prepared[name] = array
    buffer = io.BytesIO()
    np.savez(buffer, **prepared)
    return buffer.getvalue()


def decode_arrays(data: bytes) -> dict[str, np.ndarray]:
    """`.npz` bytes -> arrays (no pickles are ever loaded)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


# -- the store ------------------------------------------------------------------------------
class CheckpointStore:
    """A directory of records with a manifest; see the module docstring.

    Open it with `CheckpointStore.open(directory, fingerprint)` (or as a context
    manager around that), then `put` records as work finishes and `get` them
    back. Keys are 1-200 characters `[A-Za-z0-9_.-]`, starting with a letter or
    digit.
    """

    def __init__(self, directory: Path, manifest: dict, lock_handle) -> None:
        self.directory = directory
        self._manifest = manifest
        self._lock_handle = lock_handle

    # -- opening and closing ----------------------------------------------------------
    @classmethod
    def open(cls, directory: str | Path, fingerprint: Mapping, *, reset: bool = False) -> CheckpointStore:
        """Open (creating if needed) the store in `directory` for writing.

        Args:
            fingerprint: a JSON object identifying the work (compared with the stored one).
            reset: discard every record when the stored fingerprint differs
                (otherwise that is an error).

        Raises:
            InputError: `directory` is a file; another process has the store open;
                the manifest is unreadable; or the stored fingerprint differs and
                `reset` is false.
        """
        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise InputError("the checkpoint store is a file, not a directory", file=str(directory))
        fingerprint = json_ready(dict(fingerprint))
        (directory / RECORDS).mkdir(parents=True, exist_ok=True)
        lock_handle = _lock(directory / LOCK)
        try:
            manifest = read_manifest(directory)
            if manifest is None or (reset and manifest["fingerprint"] != fingerprint):
                manifest = {"format": STORE_FORMAT, "fingerprint": fingerprint, "records": {}}
                write_json_atomic(directory / MANIFEST, manifest)
                for stale in (directory / RECORDS).iterdir():  # files of the discarded work
                    stale.unlink(missing_ok=True)
            elif manifest["fingerprint"] != fingerprint:
                raise InputError(
                    "the checkpoint store holds work of a different run (another fingerprint: "
                    f"{describe_difference(manifest['fingerprint'], fingerprint)}); use another directory "
                    "or reset it",
                    file=str(directory),
                )
            store = cls(directory, manifest, lock_handle)
            store._remove_temporaries()
            return store
        except BaseException:
            _unlock(lock_handle)
            raise

    def close(self) -> None:
        """Release the writer's lock (the records stay)."""
        _unlock(self._lock_handle)
        self._lock_handle = None

    def __enter__(self) -> CheckpointStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------
    @property
    def fingerprint(self) -> dict:
        return self._manifest["fingerprint"]

    def keys(self) -> tuple[str, ...]:
        """Keys of the complete records, sorted."""
        return tuple(sorted(self._manifest["records"]))

    def __contains__(self, key: object) -> bool:
        return key in self._manifest["records"]

    def __len__(self) -> int:
        return len(self._manifest["records"])

    def meta(self, key: str) -> dict:
        """The `meta` of record `key` (from the manifest; no file is read)."""
        return self._entry(key)["meta"]

    def get(self, key: str) -> Record:
        """Read record `key`, checking its checksum.

        Raises:
            KeyError: no such record.
            CorruptRecordError: its file is missing or its bytes do not match.
        """
        return _read_record(self.directory, key, self._entry(key))

    def is_intact(self, key: str) -> bool:
        """Whether record `key`'s file is present and matches its checksum."""
        entry = self._entry(key)
        path = self.directory / RECORDS / entry["file"]
        try:
            return path.stat().st_size == entry["bytes"] and sha256_file(path) == entry["sha256"]
        except OSError:
            return False

    def records(self, keys: Iterable[str] | None = None) -> Iterator[Record]:
        """`get` each of `keys` (default: all, sorted)."""
        for key in self.keys() if keys is None else keys:
            yield self.get(key)

    # -- writing -----------------------------------------------------------------------
    def put(self, key: str, arrays: Mapping[str, object], meta: Mapping | None = None) -> None:
        """Store a record atomically (replacing one of the same key).

        Args:
            arrays: name -> array-like (identifiers as names; no object arrays).
            meta: JSON object (NumPy numbers are converted; NaN/inf become null).
        """
        self._check_writable()
        _check_key(key)
        data = encode_arrays(arrays)
        meta = json_ready(dict(meta or {}))
        file_name = f"{key}.npz"
        write_atomic(self.directory / RECORDS / file_name, data)
        records = dict(self._manifest["records"])
        records[key] = {"file": file_name, "sha256": sha256_bytes(data), "bytes": len(data), "meta": meta}
        self._write_manifest({**self._manifest, "records": records})

    def discard(self, keys: Iterable[str]) -> None:
        """Forget records (the manifest first, then their files)."""
        self._check_writable()
        keys = [key for key in keys if key in self]
        if not keys:
            return
        records = {k: v for k, v in self._manifest["records"].items() if k not in keys}
        files = [self._manifest["records"][key]["file"] for key in keys]
        self._write_manifest({**self._manifest, "records": records})
        for name in files:
            (self.directory / RECORDS / name).unlink(missing_ok=True)

    # -- internals ----------------------------------------------------------------------
    def _entry(self, key: str) -> dict:
        try:
            return self._manifest["records"][key]
        except KeyError:
            raise KeyError(f"no record {key!r} in {self.directory}") from None

    def _write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.directory / MANIFEST, manifest)
        self._manifest = manifest

    def _check_writable(self) -> None:
        if self._lock_handle is None and fcntl is not None:
            raise InputError("the checkpoint store is closed", file=str(self.directory))

    def _remove_temporaries(self) -> None:
        """Delete temporary files left by a writer that was killed mid-write."""
        for folder in (self.directory, self.directory / RECORDS):
            for path in folder.glob(_TEMPORARY_PREFIX + "*"):
                path.unlink(missing_ok=True)


def read_manifest(directory: str | Path) -> dict | None:
    """The manifest of the store in `directory`, or None when there is none.

    Raises:
        InputError: the manifest exists but is not a valid manifest.
    """
    path = Path(directory) / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"cannot read the checkpoint manifest: {error}", file=str(path)) from None
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InputError(f"the checkpoint manifest is not valid JSON ({error}); "
                         "delete the checkpoint directory to start afresh", file=str(path)) from None
    if (not isinstance(manifest, dict) or manifest.get("format") != STORE_FORMAT
            or not isinstance(manifest.get("records"), dict) or "fingerprint" not in manifest):
        raise InputError(f"not a jakinfer checkpoint manifest (format {STORE_FORMAT} expected)", file=str(path))
    for key, entry in manifest["records"].items():
        if not (isinstance(entry, dict) and {"file", "sha256", "bytes", "meta"} <= set(entry)
                and entry["file"] == f"{key}.npz" and _KEY.match(key)):
            raise InputError(f"malformed manifest entry for record {key!r}", file=str(path))
    return manifest


def read_records(directory: str | Path) -> Iterator[Record]:
    """The complete records of the store in `directory`, sorted by key, without taking
    the writer's lock (a running job's progress can be read; each record is checked
    against its checksum).

    Raises:
        CorruptRecordError: a listed record's file is missing or damaged.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    for key, entry in sorted((manifest or {"records": {}})["records"].items()):
        yield _read_record(directory, key, entry)


def _read_record(directory: Path, key: str, entry: dict) -> Record:
    """Record `key` of the store in `directory`, described by its manifest `entry`,
    after checking the file's size and checksum.

    Raises:
        CorruptRecordError: the file is missing, damaged or not a NumPy archive.
    """
    path = directory / RECORDS / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorruptRecordError(f"record {key!r} cannot be read: {error}", file=str(path)) from None
    if len(data) != entry["bytes"] or sha256_bytes(data) != entry["sha256"]:
        raise CorruptRecordError(f"record {key!r} does not match its checksum", file=str(path))
    try:
        arrays = decode_arrays(data)
    except (ValueError, OSError) as error:  # pragma: no cover - checksum guards this
        raise CorruptRecordError(f"record {key!r} is not a NumPy archive: {error}", file=str(path)) from None
    return Record(key=key, arrays=arrays, meta=entry["meta"])


def read_fingerprint(directory: str | Path) -> dict | None:
    """The fingerprint of the store in `directory` (None when there is no manifest)."""
    manifest = read_manifest(directory)
    return None if manifest is None else manifest["fingerprint"]


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InputError(f"record key {key!r} must be 1-200 characters [A-Za-z0-9_.-], "
                         "starting with a letter or digit")


def _lock(path: Path):
    handle = open(path, "a+b")  # noqa: SIM115 - held open for the store's lifetime
    if fcntl is None:  # pragma: no cover
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError("another process is writing this checkpoint store (it is locked)",
                         file=str(path.parent)) from None
    return handle


def _unlock(handle) -> None:
    if handle is None:
        return
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def describe_difference(stored: object, given: object, prefix: str = "") -> str:
    """The first path where two JSON values differ, for error messages."""
    if isinstance(stored, dict) and isinstance(given, dict):
        for key in sorted(set(stored) | set(given)):
            if stored.get(key, _MISSING) != given.get(key, _MISSING):
                return describe_difference(stored.get(key, _MISSING), given.get(key, _MISSING), f"{prefix}{key}.")
    shown_stored = "(absent)" if stored is _MISSING else json.dumps(stored)[:80]
    shown_given = "(absent)" if given is _MISSING else json.dumps(given)[:80]
    return f"{prefix.rstrip('.') or 'value'}: stored {shown_stored}, given {shown_given}"


_MISSING = object()
