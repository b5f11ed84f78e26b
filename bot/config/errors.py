"""Errors that name the file and line a maintainer has to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Problem:
    """One problem in a project file.

    Attributes:
        path: The file the problem is in.
        line: 1-based line number, or None when the whole file is meant.
        message: What is wrong, in words a maintainer can act on.
        severity: "error" blocks training and serving; "warning" does not.
    """

    path: Path
    line: int | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.severity}: {self.message}"


class ProjectError(Exception):
    """A project file cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
