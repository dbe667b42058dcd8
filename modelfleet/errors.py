"""One error hierarchy. Every error a user can cause is a `ModelfleetError` with an exit code;
anything else escaping the CLI is a bug."""

from __future__ import annotations

from modelfleet.credentials import redact


class ModelfleetError(Exception):
    """Base class; `exit_code` is what the CLI returns for it."""

    exit_code = 2


class SpecError(ModelfleetError):
    """A model spec or stack file is invalid. Carries located messages."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


class CatalogError(ModelfleetError):
    """The catalog has no offer for a request, or its files are damaged."""


class PlacementError(SpecError):
    """A selected model cannot be placed on a stack: located problems (the spec file and line when
    the cause is a spec field, else the stack file)."""


class EnvironmentError_(ModelfleetError):
    """Credentials, docker daemon or registry unreachable (exit 3)."""

    exit_code = 3


class Problem:
    """One located problem: file, line, column, field path, bad value, what is allowed, how to fix."""

    __slots__ = ("file", "line", "column", "field", "value", "message", "allowed", "fix")

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        field: str = "",
        value: object = None,
        allowed: str = "",
        fix: str = "",
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        # a message or value may quote user input: never echo a credential found in it
        self.value = redact(value) if isinstance(value, str) else value
        self.message = redact(message)
        self.allowed = allowed
        self.fix = fix

    def location(self) -> str:
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        return loc

    def render(self) -> str:
        text = f"{self.location()}: {self.field or '<document>'}: {self.message}"
        if self.value is not None:
            text += f" (got {redact(repr(self.value))})"
        if self.allowed:
            text += f". Allowed: {self.allowed}"
        if self.fix:
            text += f". To fix: {self.fix}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "value": self.value if isinstance(self.value, str | int | float | bool) else repr(self.value) if self.value is not None else None,
            "message": self.message,
            "allowed": self.allowed,
            "fix": self.fix,
        }
