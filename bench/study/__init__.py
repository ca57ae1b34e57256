"""Optuna studies over preprocessing × GAN variants (see ``bench.study.runner``)."""

# Spawned workers get the storage and tracking URLs in these variables, not on their command
# line, where ``ps`` would show a database password to every user of the machine.
STORAGE_ENV, TRACKING_ENV = "MITOGAN_STORAGE", "MITOGAN_TRACKING_URI"
