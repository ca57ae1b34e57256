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


def redact(url: str) -> str:
    """``postgresql://user:secret@host/db`` → ``postgresql://user:***@host/db``: what may be printed,
    logged or shown in a report (anything without a password is returned as it is)."""
    head, sep, tail = str(url).rpartition("@")
    scheme, slashes, cred = head.partition("//")
    if not sep or not slashes or ":" not in cred:
        return str(url)
    return f"{scheme}//{cred.split(':', 1)[0]}:***@{tail}"


def environment_error(err: BaseException) -> str | None:
    """One line for a fault of the machine rather than of the code: a read-only or full disk, a
    missing permission, a database that refuses (its message's first line, URLs redacted);
    None for anything else (a bug: the traceback is the useful report then)."""
    chain, seen = err, set()
    while chain is not None and id(chain) not in seen:  # the root cause, through wrappers
        seen.add(id(chain))
        if isinstance(chain, OSError):  # numpy's short writes raise one without an errno
            where = chain.filename or "a write"
            return f"{where}: {chain.strerror or chain}" + (
                " (the workspace or store is not writable)" if chain.errno in (13, 20, 30) else
                " (the disk is full or a file size limit is reached: free some space and run the "
                "same command again)" if chain.errno in (27, 28, None) else "")
        chain = chain.__cause__ or chain.__context__
    module = type(err).__module__.split(".")[0]
    if module in ("sqlalchemy", "mlflow", "alembic", "psycopg2", "psycopg", "sqlite3", "optuna"):
        text = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), type(err).__name__)
        text = " ".join(redact(w) for w in text.split(" "))
        return f"{module} ({type(err).__name__}): {text[:300]}"
    return None
