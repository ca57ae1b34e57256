"""MitoGAN's orchestration layer: the ``mitogan`` CLI, workspace, studies and tracking."""
