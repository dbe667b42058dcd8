"""The per-stack status line: on stderr in a terminal while stacks are planned, and nowhere else.

Each case runs the real CLI in a subprocess with stderr on a pseudo-terminal (as a person at
a terminal has it) or on a pipe (as CI has it), and reads what reached each stream.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STACKS = ["lab-dev", "lab-kserve"]


def _read_all(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the child closed its end
            return
        if not chunk:
            return
        sink.append(chunk)


def _run(args: list[str], stderr_tty: bool) -> tuple[int, str, str]:
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    env.pop("CI", None)
    env.pop("GITHUB_ACTIONS", None)
    command = [sys.executable, "-m", "modelfleet.cli", *args, "--project-dir", str(ROOT)]
    if not stderr_tty:
        done = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=600)
        return done.returncode, done.stdout, done.stderr
    master, slave = pty.openpty()
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(master, chunks), daemon=True)
    reader.start()
    try:
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env, timeout=600)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, proc.stdout.decode(), b"".join(chunks).decode(errors="replace")


def _stack_args() -> list[str]:
    return [a for s in STACKS for a in ("--stack", s)]


@pytest.mark.parametrize("command", ["preview", "check", "cost"])
def test_terminal_shows_each_stack_being_planned_and_erases_the_line(command: str) -> None:
    code, stdout, stderr = _run([command, *_stack_args()], stderr_tty=True)
    assert code == 0, stderr
    for stack in STACKS:
        assert f"{command}: planning {stack}" in stderr, stderr
    assert "1 done" in stderr, "the second stack's line counts the first as done"
    # transient: the status never reaches stdout, and stdout is the same result as when piped
    assert "planning" not in stdout
    assert stdout == _run([command, *_stack_args()], stderr_tty=False)[1]


@pytest.mark.parametrize("command", ["preview", "check", "cost"])
def test_piped_stderr_gets_no_status_line(command: str) -> None:
    code, _, stderr = _run([command, *_stack_args()], stderr_tty=False)
    assert code == 0, stderr
    assert "planning" not in stderr


@pytest.mark.parametrize(("command", "fmt"), [("preview", "json"), ("check", "json"), ("cost", "json"), ("cost", "markdown")])
def test_machine_formats_get_no_status_line_even_in_a_terminal(command: str, fmt: str) -> None:
    code, _, stderr = _run([command, *_stack_args(), "--format", fmt], stderr_tty=True)
    assert code == 0, stderr
    assert "planning" not in stderr, stderr


def test_a_user_value_in_the_line_is_printed_as_written() -> None:
    """Stack names reach the line as plain text: Rich markup in a value is not interpreted."""
    from rich.console import Console

    import modelfleet.progress as progress

    class Tty:
        def __init__(self) -> None:
            self.written: list[str] = []

        def write(self, text: str) -> int:
            self.written.append(text)
            return len(text)

        def flush(self) -> None:
            pass

        def isatty(self) -> bool:
            return True

    tty = Tty()
    real = sys.stderr
    sys.stderr = tty  # type: ignore[assignment]
    try:
        with progress.terminal_status("preview"):
            progress.stack_started("[bold]x[/bold]")
            assert progress._active is not None
            console = Console(file=Tty(), width=200, color_system=None)
            with console.capture() as captured:
                console.print(progress._active.status.renderable)
    finally:
        sys.stderr = real
    assert "preview: planning [bold]x[/bold]" in captured.get()
    assert progress._active is None, "the status ends with the block"


def test_outside_a_status_nothing_happens() -> None:
    import modelfleet.progress as progress

    progress.stack_started("lab-dev")  # no status open: a no-op, no error
    assert progress._active is None
