"""CLI sub-commands. Each module here defines ``register(subparsers)``; ``bench.cli`` finds them
all, so a new command is one module and nothing else."""
