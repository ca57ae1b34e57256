"""CLI sub-commands. Each module here defines ``register(subparsers)``; ``bench.cli`` finds them
all, so a new command is one module and nothing else."""


def optional_file(write):
    """``write()`` → its path; a figure nobody asked for (a contact sheet) that cannot be written
    (read-only workspace, full disk) is a note, not a failure of a command that did its work."""
    try:
        return write()
    except OSError as err:
        return f"not written ({err.filename or ''}: {err.strerror})"
