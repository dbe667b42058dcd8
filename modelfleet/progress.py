"""A status line on stderr while stacks are planned, for people at a terminal.

Contract:
- `terminal_status(command, enabled)` is a context manager a command wraps its long work in.
  The line appears only when `enabled` (the command's output is for people, not JSON or
  Markdown) and stderr is a terminal; otherwise nothing is printed, ever — piped output,
  CI logs and machine formats stay byte-for-byte what they were.
- `stack_started(stack)` — called by the planner for each stack it previews — updates the
  line to "<command>: planning <stack> · N done" beside a spinner. It is a no-op when no status is
  active, in another process than the one that opened it (a forked worker of `pr` inherits
  the module but must not draw on the parent's terminal), or outside `terminal_status`.
- The line is transient: it is erased when the work ends, before the command prints its
  result, so it never mixes with the output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.status import Status
from rich.text import Text


@dataclass
class _Active:
    command: str
    status: Status
    pid: int = field(default_factory=os.getpid)
    done: int = 0
    current: str | None = None

    def text(self) -> Text:
        parts = [f"{self.command}: planning {self.current}" if self.current else f"{self.command}: starting"]
        if self.done:
            parts.append(f"{self.done} done")
        # a Text, not a str: Rich's spinner would parse a str as markup, and names are user values
        return Text(" · ".join(parts))


_active: _Active | None = None


def _stderr_is_terminal() -> bool:
    stream = sys.stderr
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


@contextmanager
def terminal_status(command: str, enabled: bool = True) -> Iterator[None]:
    """Show a per-stack status line on stderr for the duration, when enabled and stderr is a TTY."""
    global _active
    if not enabled or _active is not None or not _stderr_is_terminal():
        yield
        return
    # markup and emoji off: stack names are user values and must print as written
    console = Console(file=sys.stderr, markup=False, emoji=False, highlight=False)
    active = _Active(command, Status(Text(f"{command}: starting"), console=console))
    active.status.start()
    _active = active
    try:
        yield
    finally:
        _active = None
        active.status.stop()


def stack_started(stack: str) -> None:
    """The planner began `stack`: the previous one (if any) counts as done."""
    active = _active
    if active is None or active.pid != os.getpid():
        return
    if active.current is not None:
        active.done += 1
    active.current = stack
    active.status.update(status=active.text())
