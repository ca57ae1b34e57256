"""MitoGAN preprocessing."""
