"""Compiled programs kept across processes, so that a repeated command does not trace, lower or compile again.

A jitted entry point costs three things before it runs: tracing the Python
function to a jaxpr, lowering it to StableHLO and XLA's backend compile. JAX's
own persistent cache skips only the last. `CompileCache` keeps all three:

* `programs/`: each entry point's lowered program, serialised with `jax.export`,
  one file per (content key, entry name, input signature, environment), where
  the content key is `content_digest` of what the function closes over (the
  problem's model, data and solver settings) and the environment is jakinfer's
  own source code and the versions of JAX and the libraries traced into the
  programs (`environment_digest`). A changed model, solver setting, jakinfer or
  JAX version therefore never reuses a stale program: it makes another key.
* `xla/`: JAX's persistent compilation cache (`enable_xla_cache`), which turns
  the deserialised program's backend compile into a file read.

Both stores are bounded (`max_bytes` each; the least recently used files go
first). The default directory is `$XDG_CACHE_HOME/jakinfer` (`~/.cache/jakinfer`);
`JAKINFER_CACHE_DIR` moves it, `JAKINFER_NO_CACHE=1` (or the CLI's `--no-cache`)
switches it off, `JAKINFER_CACHE_MAX_BYTES` bounds it (`compile_cache_from_environment`).

`CachedProgram` is the jit that uses the cache: it compiles ahead of time per
input signature, so each call knows its compile time (`last_compile`), and
falls back to a plain compile, with the reason recorded, where a program cannot
be serialised (a host callback inside, e.g. an `equinox.error_if` check while
`EQX_ON_ERROR=raise`; the CLI sets `EQX_ON_ERROR=nan` when the cache is on, see
`prepare_process`). Without a cache (`cache=None`) it is an ahead-of-time `jax.jit`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import importlib.metadata
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Default bound of each store (bytes)."""

_TRACED_LIBRARIES = ("jax", "jaxlib", "diffrax", "equinox", "lineax", "optimistix", "numpyro")
_PROGRAM_SUFFIX = ".jaxexport"


@dataclasses.dataclass(frozen=True)
class CompileCache:
    """Where compiled programs are kept, and how much of them.

    Attributes:
        directory: root of the cache (`programs/` and `xla/` below it).
        max_bytes: bound of each of the two stores, bytes.
    """

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES

    @property
    def programs(self) -> Path:
        return Path(self.directory) / "programs"

    @property
    def xla(self) -> Path:
        return Path(self.directory) / "xla"

    def program_path(self, key: str) -> Path:
        return self.programs / f"{key}{_PROGRAM_SUFFIX}"

    def load(self, key: str) -> bytes | None:
        """The stored program of `key`, or None; a hit marks the file as recently used."""
        path = self.program_path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return data

    def store(self, key: str, data: bytes) -> None:
        """Write the program of `key` atomically (a reader never sees half a file), then
        prune the store to `max_bytes`. A cache that cannot be written is skipped."""
        try:
            self.programs.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.programs, prefix=".partial-")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, self.program_path(key))
        except OSError:
            return
        prune(self.programs, self.max_bytes, keep=self.program_path(key))

    def discard(self, key: str) -> None:
        with contextlib.suppress(OSError):
            self.program_path(key).unlink()


def prune(directory: Path, max_bytes: int, keep: Path | None = None) -> list[Path]:
    """Delete the least recently modified files of `directory` until it holds at most
    `max_bytes` (never `keep`, the file just written). Returns the deleted paths."""
    entries = []
    for path in Path(directory).glob("*"):
        with contextlib.suppress(OSError):
            status = path.stat()
            if path.is_file():
                entries.append((status.st_mtime, status.st_size, path))
    total = sum(size for _, size, _ in entries)
    deleted = []
    for _, size, path in sorted(entries, key=lambda entry: entry[0]):
        if total <= max_bytes:
            break
        if keep is not None and path == keep:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            total -= size
            deleted.append(path)
    return deleted


def default_cache_directory(environ: Mapping[str, str] = os.environ) -> Path:
    """`JAKINFER_CACHE_DIR`, else `$XDG_CACHE_HOME/jakinfer`, else `~/.cache/jakinfer`."""
    if environ.get("JAKINFER_CACHE_DIR"):
        return Path(environ["JAKINFER_CACHE_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "jakinfer"


def compile_cache_from_environment(environ: Mapping[str, str] = os.environ) -> CompileCache | None:
    """The cache the environment asks for: None where `JAKINFER_NO_CACHE` is set (to
    anything but `0` or empty); `JAKINFER_CACHE_MAX_BYTES` bounds each store.

    Raises:
        ValueError: `JAKINFER_CACHE_MAX_BYTES` is not a positive integer.
    """
    if environ.get("JAKINFER_NO_CACHE", "") not in ("", "0"):
        return None
    text = environ.get("JAKINFER_CACHE_MAX_BYTES", "")
    max_bytes = DEFAULT_MAX_BYTES
    if text:
        try:
            max_bytes = int(text)
        except ValueError:
            max_bytes = 0
        if max_bytes <= 0:
            raise ValueError(f"JAKINFER_CACHE_MAX_BYTES must be a positive integer (bytes), got {text!r}")
    return CompileCache(default_cache_directory(environ), max_bytes)


def prepare_process(cache: CompileCache | None, environ: dict[str, str] = os.environ) -> None:
    """Set up a process that owns its JAX configuration (the CLI) for `cache`: make
    equinox's runtime checks NaN-valued rather than host callbacks, so that programs
    can be serialised (only if equinox is not imported yet and the user set nothing),
    and switch on XLA's persistent cache in `cache.xla`. Does nothing for None."""
    if cache is None:
        return
    if "equinox" not in sys.modules:
        environ.setdefault("EQX_ON_ERROR", "nan")
    enable_xla_cache(cache)


def enable_xla_cache(cache: CompileCache) -> None:
    """Point JAX's persistent compilation cache at `cache.xla`, bounded by `cache.max_bytes`
    (process-wide JAX configuration: for programs that own the process, such as the CLI)."""
    jax.config.update("jax_compilation_cache_dir", str(cache.xla))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", int(cache.max_bytes))


# -- keys ----------------------------------------------------------------------------------


@functools.cache
def environment_digest() -> str:
    """SHA-256 of what else a compiled program depends on: jakinfer's source files, the
    versions of Python and of the libraries traced into programs, x64 mode, and the
    backend (platform and device kind)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    for name in _TRACED_LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}={version};".encode())
    device = jax.devices()[0]
    digest.update(f"{sys.version};x64={jax.config.jax_enable_x64};{device.platform};{device.device_kind}".encode())
    return digest.hexdigest()


def content_digest(value: Any) -> str:
    """SHA-256 of a nested value: dataclasses and `equinox.Module`s (every field, in
    order, with the class name), NumPy and JAX arrays (dtype, shape, bytes), sympy
    expressions (`srepr`), pandas tables, mappings, sequences, enums and scalars.

    Raises:
        TypeError: a value whose content cannot be told from it (a function, an
            object with the default `repr`): a key built from it would not be stable.
    """
    digest = hashlib.sha256()
    _add_content(digest, value)
    return digest.hexdigest()


def _add_content(digest, value: Any) -> None:  # noqa: C901  (one branch per kind of value)
    def tag(text: str) -> None:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")

    if value is None or isinstance(value, bool | int | float | complex | str | bytes):
        tag(f"{type(value).__name__}:{value!r}")
    elif isinstance(value, enum.Enum):
        tag(f"enum:{type(value).__qualname__}.{value.name}")
    elif isinstance(value, np.ndarray | np.generic | jax.Array):
        array = np.ascontiguousarray(np.asarray(value))
        if array.dtype == object:
            tag(f"objects{array.shape}")
            for item in array.ravel():
                _add_content(digest, item)
        else:
            tag(f"array:{array.dtype.str}{array.shape}")
            digest.update(array.tobytes())
    elif _is_sympy(value):
        import sympy

        tag(f"sympy:{sympy.srepr(value)}")
    elif _is_dataframe(value):
        tag(f"frame:{value.shape}")
        digest.update(value.to_csv(index=True).encode("utf-8"))
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        tag(f"dataclass:{type(value).__module__}.{type(value).__qualname__}")
        for item in dataclasses.fields(value):
            tag(item.name)
            _add_content(digest, getattr(value, item.name))
    elif isinstance(value, Mapping):
        tag(f"mapping:{len(value)}")
        for key in sorted(value, key=repr):
            _add_content(digest, key)
            _add_content(digest, value[key])
    elif isinstance(value, tuple | list):
        tag(f"{type(value).__name__}:{len(value)}")
        for item in value:
            _add_content(digest, item)
    elif isinstance(value, frozenset | set):
        tag(f"set:{len(value)}")
        for item in sorted(value, key=repr):
            _add_content(digest, item)
    elif isinstance(value, type):
        tag(f"type:{value.__module__}.{value.__qualname__}")
    else:
        raise TypeError(
            f"content_digest cannot key a {type(value).__module__}.{type(value).__qualname__} "
            f"({value!r:.80}): its content is not visible in its fields"
        )


def _is_sympy(value: Any) -> bool:
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(value, sympy.Basic)


def _is_dataframe(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame | pandas.Series)


@dataclasses.dataclass(frozen=True)
class CacheScope:
    """A cache and the content key of what the programs built in this scope close over.

    Attributes:
        cache: where programs are kept.
        key: zero-argument function returning the content key (computed when first needed).
    """

    cache: CompileCache
    key: Callable[[], str]

    def child(self, name: str) -> CacheScope:
        """The scope of a function derived from this one's content (`name` tells it apart)."""
        parent = self.key
        return CacheScope(self.cache, lambda: f"{parent()}/{name}")


# -- the cached jit ---------------------------------------------------------------------------


class Origin(enum.Enum):
    """Where a call's executable came from."""

    STORED = "stored"
    """deserialised from the program store (no tracing, no lowering)."""
    TRACED = "traced"
    """traced and lowered now, and stored for later calls."""
    UNCACHED = "uncached"
    """traced and lowered now, not stored (no cache, or the program cannot be serialised)."""


@dataclasses.dataclass(frozen=True)
class CompileRecord:
    """How one signature's executable was obtained.

    Attributes:
        origin: see `Origin`.
        seconds: wall time from the call to an executable (tracing, lowering or
            deserialising, and XLA's compile or its cache read).
        reason: why a program was not stored (empty otherwise).
    """

    origin: Origin
    seconds: float
    reason: str = ""


class CachedProgram:
    """`jax.jit(function)` compiled ahead of time per input signature, its lowered
    program kept in a `CacheScope` when one is given.

    Calls take positional pytrees of arrays (converted with `jnp.asarray`); called
    with tracers (inside another `jit`, `vmap` or `grad`), it inlines `function`.
    `records` holds one `CompileRecord` per signature; `last_compile` the newest.
    """

    def __init__(self, function: Callable, name: str, scope: CacheScope | None = None):
        self.function = function
        self.name = name
        self.scope = scope
        self.records: dict[tuple, CompileRecord] = {}
        self.last_compile: CompileRecord | None = None
        self._executables: dict[tuple, Callable] = {}

    def __call__(self, *args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return self.function(*args)
        leaves = [jax.numpy.asarray(leaf) for leaf in leaves]
        signature = (str(tree), *((leaf.shape, leaf.dtype.str, leaf.weak_type) for leaf in leaves))
        executable = self._executables.get(signature)
        if executable is None:
            started = time.perf_counter()
            executable, origin, reason = self._executable(tree, leaves, signature)
            record = CompileRecord(origin, time.perf_counter() - started, reason)
            self._executables[signature] = executable
            self.records[signature] = record
            self.last_compile = record
        return executable(*leaves)

    def _flat_function(self, tree) -> Callable:
        def flat(*leaves):
            return self.function(*jax.tree_util.tree_unflatten(tree, leaves))

        return flat

    def _executable(self, tree, leaves, signature) -> tuple[Callable, Origin, str]:
        flat = self._flat_function(tree)
        if self.scope is None:
            return jax.jit(flat).lower(*leaves).compile(), Origin.UNCACHED, "no cache"
        reason = _unserialisable_reason()
        if reason:
            return jax.jit(flat).lower(*leaves).compile(), Origin.UNCACHED, reason
        try:
            key = hashlib.sha256(
                f"{self.scope.key()}|{self.name}|{signature}|{environment_digest()}".encode()
            ).hexdigest()
        except TypeError as error:  # the content cannot be keyed: compile without the store
            return jax.jit(flat).lower(*leaves).compile(), Origin.UNCACHED, str(error)
        cache = self.scope.cache
        data = cache.load(key)
        if data is not None:
            try:
                exported = jax.export.deserialize(bytearray(data))
                return jax.jit(exported.call).lower(*leaves).compile(), Origin.STORED, ""
            except Exception:  # noqa: BLE001  (a damaged or foreign file: drop it, compile afresh)
                cache.discard(key)
        avals = [jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, weak_type=leaf.weak_type) for leaf in leaves]
        try:
            data = bytes(jax.export.export(jax.jit(flat))(*avals).serialize())
        except (NotImplementedError, ValueError, TypeError) as error:
            return jax.jit(flat).lower(*leaves).compile(), Origin.UNCACHED, f"not serialisable: {error}"
        cache.store(key, data)
        exported = jax.export.deserialize(bytearray(data))
        return jax.jit(exported.call).lower(*leaves).compile(), Origin.TRACED, ""


def _unserialisable_reason() -> str:
    """Why programs traced now would hold host callbacks, or "" (equinox's runtime checks
    become host callbacks unless `EQX_ON_ERROR` is `nan` or `off`)."""
    mode = os.environ.get("EQX_ON_ERROR", "raise")
    if "equinox" in sys.modules:
        from equinox import _config  # the mode equinox read when it was imported

        mode = _config.EQX_ON_ERROR
    if mode in ("nan", "off"):
        return ""
    return f"EQX_ON_ERROR={mode}: equinox's runtime checks are host callbacks, which cannot be serialised"

