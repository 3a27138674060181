"""A quiet console for the command line: only jakinfer's own messages, unless asked for more.

`quiet_console(verbose=False)` hides, while a command runs, warnings raised outside jakinfer
(arviz's refactor notice, deprecations of dependencies) and the log lines XLA's C++ code writes
straight to the stderr descriptor (`Algebraic simplifier is likely stuck ...`); jakinfer's own
warnings and every other line (errors, progress bars) pass unchanged and at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import warnings


@contextlib.contextmanager
def quiet_console(verbose: bool):
    """Hide warnings raised outside jakinfer (arviz's refactor notice, deprecations) and XLA's C++
    log lines (`E1207 06:56:45.80 ... algebraic_simplifier.cc:10564] ...`) while a command runs,
    unless `verbose`; jakinfer's own warnings and messages always show."""
    if verbose:
        yield
        return
    with warnings.catch_warnings(), _without_native_log_lines():
        warnings.filterwarnings("ignore", module=r"^(?!jakinfer(\.|$))")
        yield


def forward_segments(data: bytes, out: int) -> bytes:
    """Write the segments of `data` (each ending in a newline or carriage return, so progress bars
    pass at once) to descriptor `out`, except native log lines; return what must wait for more bytes
    (a last, open segment that could be the start of a log line)."""
    start = 0
    for match in re.finditer(rb"[\r\n]", data):
        segment = data[start:match.end()]
        if not _NATIVE_LOG_LINE.match(segment):
            os.write(out, segment)
        start = match.end()
    rest = data[start:]
    if rest and not _NATIVE_LOG_START.match(rest):
        os.write(out, rest)
        return b""
    return rest


_NATIVE_LOG_START = re.compile(rb"^[IWEF]\d{0,4}$|^[IWEF]\d{4} ")
"""A segment that is, or may grow into, the prefix of a native log line."""

_NATIVE_LOG_LINE = re.compile(rb"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w./-]+:\d+\] ")
"""The prefix of a line logged by XLA's C++ code (absl/tsl format: level, date, time, thread, file:line)."""


@contextlib.contextmanager
def _without_native_log_lines():
    """Route file descriptor 2 through a pipe whose reader drops native log lines and passes the rest.

    Native code writes to the descriptor, not to `sys.stderr`, and reads its log level once, when
    the library loads; so filtering the descriptor is the one way a command can silence it.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr descriptor (embedded interpreters): nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward() -> None:
        pending = b""  # the start of a segment that may still become a native log line
        while chunk := os.read(read_end, 65536):
            pending = forward_segments(pending + chunk, saved)
        if pending and not _NATIVE_LOG_LINE.match(pending):
            os.write(saved, pending)
        os.close(read_end)

    reader = threading.Thread(target=forward, name="jakinfer-stderr", daemon=True)
    reader.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees end of file
        reader.join(timeout=5)
        os.close(saved)
