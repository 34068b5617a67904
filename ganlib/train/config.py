"""Training configuration: one pydantic schema per KIND (stylegan2 included), defaults in
``presets/train/<kind>.yaml``, YAML config files and ``--set key=value`` overrides (dotted keys for nested fields,
values parsed as YAML and type-checked).

Files are read and errors reported by the one schema layer (``ganlib.schema``): YAML 1.2-style floats (``1e-4``),
``file:line: 'field': what is allowed``, unknown keys with a did-you-mean suggestion, all as ``ConfigError``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ganlib.errors import ConfigError
from ganlib.networks.small_common import check_pyramid_resolution
from ganlib.schema import did_you_mean, line_of, parse_scalar, read_yaml_file, translate
from ganlib.train.diffaugment import POLICIES

KINDS = ("dcgan", "dcgan-mod", "wgan", "wgan-gp", "mse", "cgan", "autoencoder", "classifier", "stylegan2")
PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets" / "train"

# Settings that may change when a run is resumed (everything else is taken from the saved run).
RESUME_MUTABLE = {"steps", "epochs", "log_every", "checkpoint_every", "eval_every", "sample_every_epochs", "data.num_workers",
                  "metrics_every", "metrics_num"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Strict):
    """How the dataset is read: fitting to the resolution, augmentation, sampling, workers, caching, HDF5 keys."""

    fit: Literal["crop", "stretch"] = "crop"
    flip: bool = True
    balanced: bool = False
    num_workers: int = Field(0, ge=0, le=64)
    cache: bool | Literal["auto"] = "auto"
    cache_limit_mb: float = Field(1024, gt=0)
    images_key: str = "images"
    labels_key: str = "labels"
    features_key: str = "features"
    layout: Literal["auto", "NHWC", "NCHW"] = "auto"


class EncoderConfig(_Strict):
    """The optional pre-encoder of the features (trained first, or loaded from ``path``, then frozen in front of the
    generator): an MLP, or for sequence features [N, T, F] a GRU over the time axis (``kind: sequence``). Giving
    ``path`` or ``kind: sequence`` turns it on."""

    enabled: bool = False
    kind: Literal["mlp", "sequence"] = "mlp"
    path: str | None = None  # a pretrained MLP state_dict (.pt weights-only, or .safetensors); its shapes win
    hidden: int = Field(64, ge=1)
    code_dim: int = Field(8, ge=1)
    layers: int = Field(2, ge=1, le=8)
    steps: int = Field(500, ge=1)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, ge=1)

    @property
    def used(self) -> bool:
        """Whether the pre-encoder is on (``enabled``, a ``path`` or ``kind: sequence``)."""
        return self.enabled or self.path is not None or self.kind == "sequence"


class CommonConfig(_Strict):
    """Settings every KIND has."""

    seed: int = 0
    resolution: int = 64
    channels: Literal[1, 3] = 3
    batch_size: int = Field(64, ge=1)
    steps: int = Field(5000, ge=1)
    epochs: int | None = Field(None, ge=1)  # instead of steps: passes over the training images
    val_data: str | None = None  # a validation folder/.zip/.h5 (classifier: instead of the split; others: val metrics)
    log_every: int = Field(1, ge=1)
    checkpoint_every: int = Field(500, ge=0)
    eval_every: int = Field(500, ge=0)
    sample_every_epochs: int = Field(1, ge=0)
    sample_count: int = Field(64, ge=1, le=1024)
    plot_window: int = Field(50, ge=1)
    metrics_every: int = Field(0, ge=0)
    metrics_num: int = Field(500, ge=2)
    data: DataConfig = Field(default_factory=DataConfig)

    @field_validator("resolution")
    @classmethod
    def _bounds(cls, v: int) -> int:
        if v < 4 or v > 1024:
            raise ValueError("resolution must be from 4 to 1024 px")
        return v

    def resolution_problem(self) -> str | None:
        """Return why the networks of this config cannot be built at ``resolution`` (listing the allowed sizes), or
        None when they can. Default: the DCGAN-style pyramid (``b · 2^k`` px, b in 4..7)."""
        try:
            check_pyramid_resolution(self.resolution)
        except ValueError as exc:
            return str(exc)
        return None


def _power_of_two_problem(resolution: int, what: str) -> str | None:
    if resolution < 8 or resolution & (resolution - 1):
        return f"{what} needs a power of two from 8 to 1024 px: 8, 16, 32, 64, 128, 256, 512 or 1024"
    return None


class GANConfig(CommonConfig):
    """Adversarial kinds: dcgan, dcgan-mod, wgan, wgan-gp (and, with a condition, cgan)."""

    z_dim: int = Field(100, ge=1)
    arch: Literal["conv", "mlp"] = "conv"
    ngf: int = Field(64, ge=1)
    ndf: int = Field(64, ge=1)
    max_channels: int = Field(512, ge=1)
    upsample: Literal["deconv", "resize"] = "deconv"
    d_norm: Literal["batch", "layer", "none"] = "batch"
    spectral_norm: bool = False
    hidden: int = Field(512, ge=1)
    layers: int = Field(3, ge=1, le=16)
    loss: Literal["bce", "hinge", "wasserstein"] = "bce"
    optimizer: Literal["adam", "rmsprop"] = "adam"
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = Field(1, ge=1)
    clip: float | None = Field(None, gt=0)
    gp_lambda: float = Field(0.0, ge=0)
    init_std: float = Field(0.02, gt=0, le=1)  # weights start at N(0, init_std) (DCGAN: 0.02)

    def resolution_problem(self) -> str | None:
        """MLP networks take any size; convolutional ones the pyramid's sizes."""
        return None if self.arch == "mlp" else super().resolution_problem()


class CGANConfig(GANConfig):
    """Conditional GAN: label embedding (or features through the optional frozen MLP pre-encoder)."""

    cond: Literal["label", "features"] = "label"
    embed_dim: int = Field(50, ge=1)
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)


class MSEConfig(CommonConfig):
    """MSE generator from the dataset's feature vectors (HDF5 ``features``), optional frozen MLP pre-encoder."""

    z_dim: int = Field(4, ge=1)
    ngf: int = Field(64, ge=1)
    max_channels: int = Field(512, ge=1)
    upsample: Literal["deconv", "resize"] = "resize"
    embed_dim: int = Field(64, ge=1)
    lr: float = Field(1e-3, gt=0)
    betas: tuple[float, float] = (0.9, 0.999)
    init_std: float = Field(0.02, gt=0, le=1)
    encoder: EncoderConfig = Field(default_factory=EncoderConfig)


class AutoencoderConfig(CommonConfig):
    """Convolutional autoencoder (MSE); ``conditional`` adds a label-conditioned decoder ("auto": when labelled)."""

    code_dim: int = Field(64, ge=1)
    width: int = Field(32, ge=1)
    max_channels: int = Field(256, ge=1)
    conditional: bool | Literal["auto"] = "auto"
    embed_dim: int = Field(16, ge=1)
    lr: float = Field(1e-3, gt=0)
    betas: tuple[float, float] = (0.9, 0.999)
    init_std: float = Field(0.02, gt=0, le=1)


class ClassifierConfig(CommonConfig):
    """CNN classifier with a held-out validation split and (default) class-balanced sampling."""

    width: int = Field(32, ge=1)
    max_channels: int = Field(256, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    val_fraction: float = Field(0.1, ge=0, lt=1)

    def resolution_problem(self) -> str | None:
        """The classifier halves its maps down to 4x4."""
        return _power_of_two_problem(self.resolution, "the classifier")


class StyleGAN2Config(CommonConfig):
    """StyleGAN2 (Karras et al. 2020) under the shared loop: non-saturating logistic loss, lazy R1, path-length
    regularisation, style mixing, generator EMA with ramp-up, minibatch std; ADA, DiffAugment or no augmentation;
    transfer learning from ``init`` with FreezeD. Defaults suit a small 64 px model on CPU."""

    batch_size: int = Field(16, ge=2)
    steps: int = Field(2000, ge=1)
    checkpoint_every: int = Field(200, ge=0)
    eval_every: int = Field(200, ge=0)
    sample_count: int = Field(16, ge=1, le=1024)
    z_dim: int = Field(128, ge=1)
    w_dim: int = Field(128, ge=1)
    mapping_layers: int = Field(4, ge=1, le=8)
    channel_base: int = Field(4096, ge=1)
    channel_max: int = Field(128, ge=1)
    conditional: bool | Literal["auto"] = "auto"
    lr_g: float = Field(0.0025, gt=0)
    lr_d: float = Field(0.0025, gt=0)
    betas: tuple[float, float] = (0.0, 0.99)
    r1_gamma: float | None = Field(None, ge=0)
    r1_interval: int = Field(16, ge=1)
    pl_weight: float = Field(2.0, ge=0)
    pl_interval: int = Field(4, ge=1)
    pl_batch_shrink: int = Field(2, ge=1)
    pl_decay: float = Field(0.01, gt=0, le=1)
    ema_kimg: float | None = Field(None, gt=0)
    ema_rampup: float | None = Field(0.05, gt=0)
    style_mixing_prob: float = Field(0.9, ge=0, le=1)
    mbstd_group: int = Field(4, ge=1)
    augment: Literal["ada", "diffaugment", "none"] = "ada"
    ada_target: float = Field(0.6, gt=0, lt=1)
    ada_interval: int = Field(4, ge=1)
    ada_kimg: float = Field(500, gt=0)
    ada_p: float = Field(0.0, ge=0, le=1)
    diffaugment: str = "color,translation,cutout"
    init: str | None = None
    freeze_d: int = Field(0, ge=0)
    d_warmup_steps: int = Field(0, ge=0)  # first N steps train only D (G, G_ema frozen): a new D meets an init G

    def resolution_problem(self) -> str | None:
        """StyleGAN2's synthesis doubles from 4x4."""
        return _power_of_two_problem(self.resolution, "StyleGAN2")

    @field_validator("diffaugment")
    @classmethod
    def _policy(cls, v: str) -> str:
        bad = [p for p in (x.strip() for x in v.split(",")) if p and p not in POLICIES]
        if bad:
            raise ValueError(f"unknown DiffAugment policy {bad[0]!r}; allowed: {', '.join(POLICIES)}")
        return v


SCHEMAS: dict[str, type[BaseModel]] = {
    "dcgan": GANConfig, "dcgan-mod": GANConfig, "wgan": GANConfig, "wgan-gp": GANConfig, "cgan": CGANConfig,
    "mse": MSEConfig, "autoencoder": AutoencoderConfig, "classifier": ClassifierConfig, "stylegan2": StyleGAN2Config,
}


# What each KIND changes from its schema's defaults (the preset files repeat these values with comments).
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "dcgan-mod": {"upsample": "resize", "d_norm": "none", "spectral_norm": True, "loss": "hinge"},
    "wgan": {"loss": "wasserstein", "optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5,
             "clip": 0.01},
    "wgan-gp": {"loss": "wasserstein", "optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "betas": [0.0, 0.9],
                "n_critic": 5, "gp_lambda": 10.0, "d_norm": "layer"},
    "classifier": {"data": {"balanced": True}},
}


def check_kind(kind: str) -> str:
    """Return ``kind`` if it is a known KIND, else raise ConfigError with a did-you-mean suggestion."""
    if kind in KINDS:
        return kind
    raise ConfigError(f"unknown KIND {kind!r}{did_you_mean(kind, KINDS)}; choose one of: {', '.join(KINDS)}")


def _read(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Return (mapping, line map) of the YAML config file ``path``; ConfigError naming the file otherwise."""
    data, lines = read_yaml_file(path, ConfigError, "config file")
    if data is None:
        return {}, lines
    if not isinstance(data, dict):
        raise ConfigError("a training config must be a YAML mapping of settings", file=path, line=lines.get(""))
    return data, lines


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Return the mapping in YAML file ``path``; ConfigError (file and line) if missing, unparsable or not a
    mapping."""
    return _read(path)[0]


def parse_set(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["batch_size=32", "data.flip=false"]`` into {"batch_size": 32, "data.flip": False}.

    Values are parsed by the schema layer's YAML ("1e-4" becomes a float); ConfigError for an item without ``=``.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key] = parse_scalar(raw)
    return out


def apply_overrides(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Return a copy of nested dict ``base`` with dotted-key ``overrides`` applied ("data.flip": False)."""
    out = _deep_copy(base)
    for key, value in (overrides or {}).items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            nxt = node.get(part)
            if not isinstance(nxt, dict):
                nxt = {}
                node[part] = nxt
            node = nxt
        node[parts[-1]] = value
    return out


def merge(base: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` recursively updated with ``other`` (nested mappings merge, other values replace)."""
    out = _deep_copy(base)
    for k, v in other.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def _deep_copy(d: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}


def preset_path(kind: str) -> Path:
    """Return the path of the defaults file ``presets/train/<kind>.yaml``."""
    return PRESETS_DIR / f"{kind}.yaml"


def kind_defaults(kind: str) -> dict[str, Any]:
    """Return the defaults of ``kind`` as a dict: the schema defaults, the KIND's changes, then the preset file."""
    base = SCHEMAS[kind]().model_dump(mode="json") if kind in SCHEMAS else {}
    base = merge(base, KIND_DEFAULTS.get(kind, {}))
    p = preset_path(kind)
    if p.is_file():
        base = merge(base, read_yaml(p))
    return base


def validate_config(kind: str, raw: dict[str, Any], *, source: str | None = None,
                    lines: dict[str, int] | None = None) -> BaseModel:
    """Validate ``raw`` against the schema of ``kind``; return the config model or raise a ConfigError naming the
    file (``source``), the line (from ``lines``, a ``ganlib.schema`` line map) and the first bad field (unknown
    keys get a did-you-mean suggestion)."""
    schema = SCHEMAS[kind]
    raw = {k: v for k, v in raw.items() if k != "kind"}
    try:
        cfg = schema.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, schema, source=source, lines=lines, error=ConfigError) from None
    problem = cfg.resolution_problem()
    if problem:
        raise ConfigError(f"{kind}: {problem}", file=source, field="resolution",
                          line=line_of(lines or {}, "resolution"))
    return cfg


def _from_overrides(field: str | None, overrides: dict) -> bool:
    """Whether the setting ``field`` (a dotted path) was given by an override (``--set``)."""
    if not field:
        return False
    keys = [str(k) for k in overrides]
    return any(field == k or field.startswith((k + ".", k + "[")) or k.startswith(field + ".") for k in keys)


def load_config(kind: str, config: str | Path | None = None, overrides: dict | None = None) -> BaseModel:
    """Return the validated config of ``kind``: preset defaults, then the YAML file ``config``, then ``overrides``
    (a dict of possibly dotted keys, e.g. from ``parse_set``). Raises ConfigError for any bad or unknown setting:
    with the file and line when it came from a file, with the field alone when it came from ``overrides``."""
    check_kind(kind)
    raw = kind_defaults(kind)
    source, lines = str(preset_path(kind)), {}
    if config is not None:
        user, lines = _read(config)
        if "kind" in user and user["kind"] != kind:
            raise ConfigError(f"the file is for KIND {user['kind']!r}, not {kind!r}", file=config, field="kind",
                              line=line_of(lines, "kind"))
        raw = merge(raw, user)
        source = str(config)
    if overrides:
        raw = apply_overrides(raw, overrides)
    try:
        return validate_config(kind, raw, source=source, lines=lines)
    except ConfigError as exc:
        if overrides and _from_overrides(exc.field, overrides):
            raise ConfigError(exc.message, field=exc.field) from None  # the bad value came from --set
        raise


def config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Return the dotted keys whose values differ between two nested config dicts."""
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        a, b = old.get(k), new.get(k)
        name = f"{prefix}{k}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_diff(a, b, name + ".")
        elif a != b:
            out.append(name)
    return out
