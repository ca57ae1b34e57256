"""The one error type the CLI turns into a one-line message and a non-zero exit."""
from __future__ import annotations

from pathlib import Path


class MitoError(Exception):
    """A user-facing error: ``<where>: <problem>``, printed on one line by the CLI (exit 2).

    Parameters
    ----------
    where : str or Path
        The file, data set or config key the problem is about.
    problem : str
        What is wrong, in words a user can act on.
    """

    def __init__(self, where: str | Path, problem: str):
        self.where = str(where)
        self.problem = problem
        super().__init__(f"{self.where}: {problem}")
