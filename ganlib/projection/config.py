"""Settings of one projection (what is optimised, the loss and the schedule) as validated data.

The defaults are the combination measured best by ``benchmarks/project.py`` (figures in docs/projection.md).
The schedule follows NVlabs' projector: Adam, a learning rate ramped up over the first 5 % of the steps and down
(cosine) over the last 25 %, and Gaussian jitter on w of 5 % of w's spread, fading out over the first 75 %.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from ganlib.errors import UserError
from ganlib.metrics.inception import inception_available

SPACES = ("w", "w+")
NOISE_MODES = ("fixed", "optimise")
PERCEPTUAL = ("none", "inception")

# Named loss options (``--loss``): weights of the perceptual, pixel and multi-scale terms.
LOSS_PRESETS: dict[str, dict[str, float | str]] = {
    "pixel": dict(perceptual="none", pixel_weight=1.0, multiscale_weight=0.0),
    "pixel+ms": dict(perceptual="none", pixel_weight=1.0, multiscale_weight=1.0),
    "inception": dict(perceptual="inception", pixel_weight=0.0, multiscale_weight=0.0),
    "inception+pixel": dict(perceptual="inception", pixel_weight=1.0, multiscale_weight=0.0),
    "inception+pixel+ms": dict(perceptual="inception", pixel_weight=1.0, multiscale_weight=1.0),
}
DEFAULT_LOSS = "inception+pixel"  # best PSNR on generated and landscape targets (docs/projection.md)
FALLBACK_LOSS = "pixel+ms"        # the default when no Inception network is installed


@dataclass(frozen=True)
class ProjectionConfig:
    """Everything that decides a projection. ``space``: "w" (one w for every layer, NVlabs) or "w+" (one per
    layer); ignored (z is optimised) for models without a w space. ``steps``: optimisation steps. ``seed``: the
    seed of every random draw (noise start, w jitter), so the same seed gives the same projection. ``init_seed``:
    start from this seed's w (or z) instead of w_avg (z = 0 for z-only models). ``noise``: "fixed" (the network's
    own constant noise, exactly what a keyframe renders) or "optimise" (NVlabs: the noise maps are optimised too,
    with the multi-scale autocorrelation penalty and renormalised every step; the result is rendered with the
    network's noise, as a keyframe does). ``perceptual``: "inception" (early feature maps of the FID Inception
    network) or "none"; ``*_weight``: weights of the perceptual, pixel (MSE) and multi-scale (MSE of the 1/2, 1/4,
    1/8 average-pooled images) terms; ``noise_reg_weight``: weight of the noise penalty (NVlabs: 1e5).
    ``lr``: peak learning rate; ``frame_every``: keep a preview frame every N steps (the video)."""

    space: str = "w+"
    steps: int = 200
    seed: int = 0
    init_seed: int | None = None
    noise: str = "fixed"
    perceptual: str = "inception"
    perceptual_weight: float = 1.0
    pixel_weight: float = 1.0
    multiscale_weight: float = 0.0
    noise_reg_weight: float = 1e5
    lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    w_noise_factor: float = 0.05
    w_noise_ramp: float = 0.75
    w_avg_samples: int = 2000
    frame_every: int = 2
    loss_name: str = field(default=DEFAULT_LOSS)

    def __post_init__(self):
        if self.space not in SPACES:
            raise UserError(f"unknown space {self.space!r}; allowed: {', '.join(SPACES)}", field="--space")
        if self.noise not in NOISE_MODES:
            raise UserError(f"unknown noise option {self.noise!r}; allowed: {', '.join(NOISE_MODES)}",
                            field="--noise")
        if self.perceptual not in PERCEPTUAL:
            raise UserError(f"unknown perceptual term {self.perceptual!r}; allowed: {', '.join(PERCEPTUAL)}",
                            field="--loss")
        if int(self.steps) < 1:
            raise UserError(f"steps must be at least 1, got {self.steps}", field="--steps")
        if int(self.frame_every) < 1:
            raise UserError(f"frame_every must be at least 1, got {self.frame_every}", field="frame_every")
        for name in ("perceptual_weight", "pixel_weight", "multiscale_weight", "noise_reg_weight", "lr"):
            if float(getattr(self, name)) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)}", field=name)

    def as_dict(self) -> dict:
        """Return the settings as a JSON-able dict (stored in the projection's .npz)."""
        return asdict(self)


def default_loss() -> tuple[str, str]:
    """Return (the loss option to use when none is named, a note): DEFAULT_LOSS when the offline Inception network
    is installed, else FALLBACK_LOSS with a note saying so."""
    if inception_available():
        return DEFAULT_LOSS, ""
    return FALLBACK_LOSS, f"no Inception network installed: loss {FALLBACK_LOSS} instead of {DEFAULT_LOSS}"


def make_config(loss: str | None = None, **overrides) -> ProjectionConfig:
    """Return a ProjectionConfig with the weights of the named ``loss`` option (a key of LOSS_PRESETS; None:
    :func:`default_loss`) and ``overrides`` (any ProjectionConfig field; None values are ignored). UserError naming
    ``--loss`` for an unknown name."""
    if loss is None:
        loss = default_loss()[0]
    if loss not in LOSS_PRESETS:
        raise UserError(f"unknown loss option {loss!r}; allowed: {', '.join(LOSS_PRESETS)}", field="--loss")
    base = ProjectionConfig(**LOSS_PRESETS[loss], loss_name=loss)
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})
