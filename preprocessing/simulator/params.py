"""Simulation parameters, in physical units, with defaults for live-cell imaging of HeLa cells
stained with MitoTracker (confocal, ~60-100x oil objective, 488 nm excitation).

Every length is in µm, every time in s, every speed in µm/s, every rate per µm of tubule per s
(fission) or per s (pearling onsets are scheduled, see ``dynamics``). The image is rendered at
``pixel_size_um``; positions are continuous, so sub-pixel drift is exact (no resampling).
"""
from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bench.errors import MitoError

#: The Rayleigh-Plateau-like spacing factor: pearls repeat every ``2 * pi * sqrt(2) * radius``
#: (about 8.89 radii; the classical fastest-growing mode of a fluid cylinder is 9.02 radii).
PEARL_SPACING_FACTOR = 2.0 * math.pi * math.sqrt(2.0)


class SimParams(BaseModel):
    """All simulator parameters (units in each name or description).

    Defaults were tuned so that measured statistics of simulated frames fall inside the range of
    the real HeLa MitoTracker movie (``python -m bench.realism``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- sampling -------------------------------------------------------------------------
    pixel_size_um: float = Field(0.11, gt=0, description="pixel size at the sample (µm/px)")
    frame_interval_s: float = Field(1.0, gt=0, description="time between frames (s)")

    # --- structure geometry ---------------------------------------------------------------
    tubule_radius_um: float = Field(0.15, gt=0, description="median tubule radius (µm)")
    tubule_radius_cv: float = Field(0.2, ge=0, le=1, description="log-normal spread of radii (CV)")
    persistence_um: float = Field(4.0, gt=0, description="bending persistence length of tubules (µm)")
    branch_length_um: tuple[float, float] = Field((2.0, 9.0), description="tubule branch length range (µm)")
    branch_prob: float = Field(0.3, ge=0, le=1, description="chance a branch spawns a side branch")
    density_um_per_um2: float = Field(0.12, gt=0,
                                      description="tubule length per field area, tubular class (µm/µm²)")
    fragment_length_um: tuple[float, float] = Field((0.3, 2.0),
                                                    description="fragment length range, fragmented class (µm)")
    punctum_radius_um: float = Field(0.22, gt=0, description="radius of round puncta (µm)")
    hyperfused_density_factor: float = Field(1.8, gt=0,
                                             description="hyperfused density relative to tubular (x)")

    # --- dynamics ---------------------------------------------------------------------------
    network_speed_um_s: float = Field(0.02, ge=0, description="rms speed of the smooth bending field (µm/s)")
    fragment_speed_um_s: float = Field(0.08, ge=0, description="rms random-walk speed of free structures (µm/s)")
    fission_rate_per_um_s: float = Field(4e-4, ge=0, description="fission events per µm of tubule per s")
    fusion_distance_um: float = Field(0.35, ge=0, description="a free tip this close to another structure fuses (µm)")
    fusion_prob_per_s: float = Field(0.15, ge=0, le=1, description="chance per s that a tip in range fuses")
    pearling_fraction: float = Field(0.5, ge=0, le=1,
                                     description="share of long tubules that pearl, pearled class")
    pearl_amplitude: float = Field(0.85, ge=0, le=1,
                                   description="share of tubule volume in pearls at the peak (0-1)")
    pearl_ramp_s: float = Field(4.0, gt=0, description="time to bead fully / to recover fully (s)")
    pearl_hold_s: float = Field(30.0, ge=0, description="time fully beaded, capped to fit the movie (s)")

    # --- optics and camera --------------------------------------------------------------------
    psf_sigma_um: float = Field(0.10, gt=0, description="lateral Gaussian PSF sigma (µm); FWHM = 2.355 sigma")
    haze_sigma_um: float = Field(1.5, gt=0, description="blur of out-of-focus light (µm)")
    haze_fraction: float = Field(0.15, ge=0, description="out-of-focus light relative to in-focus signal")
    peak_photons: float = Field(300.0, gt=0, description="expected photons at the axis of a median tubule")
    background_photons: float = Field(1.0, ge=0, description="uniform background (photons/px)")
    gain_adu_per_e: float = Field(2.0, gt=0, description="camera gain (ADU per photoelectron)")
    offset_adu: float = Field(100.0, ge=0, description="camera offset (ADU)")
    read_noise_e: float = Field(1.5, ge=0, description="Gaussian read noise (electrons rms)")
    bleach_tau_s: float = Field(300.0, gt=0, description="photobleaching time constant (s)")
    drift_um_per_s: float = Field(0.004, ge=0, description="stage drift, random-walk rms speed (µm/s)")
    drift_trend_um_per_s: float = Field(0.003, ge=0, description="stage drift, steady component (µm/s)")

    @model_validator(mode="after")
    def _ranges(self):
        for name in ("branch_length_um", "fragment_length_um"):
            lo, hi = getattr(self, name)
            if not 0 < lo <= hi:
                raise ValueError(f"{name} needs 0 < low <= high, got {lo}, {hi}")
        return self

    @property
    def pearl_spacing_um(self) -> float:
        """Spacing of pearls on a tubule of the median radius (µm)."""
        return PEARL_SPACING_FACTOR * self.tubule_radius_um

    def px(self, um: float) -> float:
        """A length in µm expressed in pixels."""
        return um / self.pixel_size_um

    @classmethod
    def from_overrides(cls, overrides: dict | None) -> "SimParams":
        """Build from a ``{name: value}`` dict, turning bad names/values into one-line MitoErrors."""
        try:
            return cls(**(overrides or {}))
        except Exception as exc:  # pydantic.ValidationError: report the first problem on one line
            errors = getattr(exc, "errors", lambda: [{"loc": ("?",), "msg": str(exc)}])()
            first = errors[0]
            raise MitoError("SimParams", f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
