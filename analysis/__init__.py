"""MitoGAN analysis."""
