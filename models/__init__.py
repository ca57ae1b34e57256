"""MitoGAN models."""
