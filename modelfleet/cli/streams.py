"""Standard streams that never turn a reader's choice or a locale into a traceback.

Contract: `install()` wraps `sys.stdout` and `sys.stderr` once per process:
- a reader that stops early (`modelfleet cost | head -1`) closes the pipe; further output
  is dropped silently and the command still returns its own exit code (a broken pipe is
  never reported as the "over budget" 1);
- a stream whose encoding cannot carry Unicode (`LC_ALL=C` with `PYTHONUTF8=0`) gets ASCII
  fallbacks ('–' → '-', '—' → '--', '→' → '->', box drawing → +-|) instead of
  UnicodeEncodeError; anything else unencodable becomes '?'.
"""

from __future__ import annotations

import codecs
import io
import os
import sys
from typing import TextIO

# characters modelfleet (and Rich) print, with the ASCII a C locale can show
_FALLBACK = {
    "\u2013": "-", "\u2014": "--", "\u2192": "->", "\u2190": "<-", "\u00d7": "x", "\u2265": ">=", "\u2264": "<=",
    "\u2026": "...", "\u00b5": "u", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2022": "*",
    "\u2713": "ok", "\u2717": "x", "\u26a0": "!", "\u274c": "x", "\ufe0f": "", "\u00a0": " ",
    # box drawing and tree guides
    "\u2500": "-", "\u2501": "-", "\u2502": "|", "\u2503": "|", "\u2514": "`", "\u251c": "|", "\u2550": "=",
    "\u2551": "|", **dict.fromkeys("\u250c\u2510\u2518\u252c\u2534\u253c\u250f\u2513\u2517\u251b\u2521\u2529\u2547"
                                 "\u256d\u256e\u2570\u256f\u2520\u2528\u2524", "+"),
}
_TABLE = str.maketrans(_FALLBACK)


def _unicode_capable(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "ascii").name in ("utf-8", "utf-16", "utf-32", "gb18030")
    except LookupError:
        return False


class SafeStream(io.TextIOBase):
    """A text stream over `raw` that survives a closed pipe and a non-Unicode locale."""

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw
        self.unicode = _unicode_capable(getattr(raw, "encoding", None))
        self.pipe_closed = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        # Rich draws ASCII boxes and tree guides when the encoding is not UTF
        return "utf-8" if self.unicode else "ascii"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return "strict"

    def isatty(self) -> bool:
        return not self.pipe_closed and self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.pipe_closed:
            return len(text)
        data = text if self.unicode else text.translate(_TABLE).encode("ascii", "replace").decode("ascii")
        try:
            self.raw.write(data)
        except BrokenPipeError:
            self._closed_by_reader()
        return len(text)

    def flush(self) -> None:
        if self.pipe_closed:
            return
        try:
            self.raw.flush()
        except BrokenPipeError:
            self._closed_by_reader()

    def _closed_by_reader(self) -> None:
        """The reader went away: drop the rest, and keep the interpreter's final flush quiet."""
        self.pipe_closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.raw.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


def install() -> None:
    if not isinstance(sys.stdout, SafeStream) and sys.stdout is not None:
        sys.stdout = SafeStream(sys.stdout)
    if not isinstance(sys.stderr, SafeStream) and sys.stderr is not None:
        sys.stderr = SafeStream(sys.stderr)
