"""Training configuration: one pydantic schema per KIND, defaults in ``presets/train/<kind>.yaml``, YAML config files
and ``--set key=value`` overrides (dotted keys for nested fields, values parsed as YAML and type-checked).

Unknown keys are a ConfigError with a did-you-mean suggestion; bad values name the field and what is allowed.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ganlib.errors import ConfigError

KINDS = ("dcgan", "dcgan-mod", "wgan", "wgan-gp", "mse", "cgan", "autoencoder", "classifier", "stylegan2")
PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets" / "train"

# Settings that may change when a run is resumed (everything else is taken from the saved run).
RESUME_MUTABLE = {"steps", "log_every", "checkpoint_every", "eval_every", "sample_every_epochs", "data.num_workers"}


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
    """The optional MLP pre-encoder of the features (trained first, then frozen in front of the generator)."""

    enabled: bool = False
    hidden: int = Field(64, ge=1)
    code_dim: int = Field(8, ge=1)
    layers: int = Field(2, ge=1, le=8)
    steps: int = Field(500, ge=1)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(64, ge=1)


class CommonConfig(_Strict):
    """Settings every KIND has."""

    seed: int = 0
    resolution: int = 64
    channels: Literal[1, 3] = 3
    batch_size: int = Field(64, ge=1)
    steps: int = Field(5000, ge=1)
    log_every: int = Field(1, ge=1)
    checkpoint_every: int = Field(500, ge=0)
    eval_every: int = Field(500, ge=0)
    sample_every_epochs: int = Field(1, ge=0)
    sample_count: int = Field(64, ge=1, le=1024)
    plot_window: int = Field(50, ge=1)
    data: DataConfig = Field(default_factory=DataConfig)

    @field_validator("resolution")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v < 16 or v > 1024 or v & (v - 1):
            raise ValueError("resolution must be a power of two from 16 to 1024 (DCGAN: 64, 128 or 256)")
        return v


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


class ClassifierConfig(CommonConfig):
    """CNN classifier with a held-out validation split and (default) class-balanced sampling."""

    width: int = Field(32, ge=1)
    max_channels: int = Field(256, ge=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    val_fraction: float = Field(0.1, ge=0, lt=1)


SCHEMAS: dict[str, type[CommonConfig]] = {
    "dcgan": GANConfig, "dcgan-mod": GANConfig, "wgan": GANConfig, "wgan-gp": GANConfig, "cgan": CGANConfig,
    "mse": MSEConfig, "autoencoder": AutoencoderConfig, "classifier": ClassifierConfig,
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
    raise ConfigError(f"unknown KIND {kind!r}{_suggest(kind, KINDS)}; choose one of: {', '.join(KINDS)}")


def _suggest(word: str, options) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Return the mapping in YAML file ``path``; ConfigError if missing, unparsable or not a mapping."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config file not found", file=path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=path,
                          line=line + 1 if line is not None else None) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("a training config must be a YAML mapping of settings", file=path)
    return data


def parse_set(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["batch_size=32", "data.flip=false"]`` into {"batch_size": 32, "data.flip": False}.

    Values are parsed as YAML scalars/lists ("1e-4" becomes a float); ConfigError for an item without ``=``.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str):
            try:
                value = float(value) if any(ch in value.lower() for ch in ".e") and value.strip() else value
            except ValueError:
                pass
        out[key] = value
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


def validate_config(kind: str, raw: dict[str, Any], *, source: str | None = None) -> CommonConfig:
    """Validate ``raw`` against the schema of ``kind``; return the config model or raise a ConfigError naming the
    first bad field (unknown keys get a did-you-mean suggestion)."""
    schema = SCHEMAS[kind]
    raw = {k: v for k, v in raw.items() if k != "kind"}
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(schema, exc, source) from None


def _config_error(schema: type[BaseModel], exc: ValidationError, source: str | None) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    field = ".".join(loc) or None
    if err.get("type") == "extra_forbidden":
        model: Any = schema
        for part in loc[:-1]:
            ann = model.model_fields.get(part)
            model = ann.annotation if ann is not None else None
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                break
        options = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
        msg = f"unknown setting{_suggest(loc[-1], options)}"
        if options and not _suggest(loc[-1], options):
            msg += f"; known: {', '.join(options)}"
        return ConfigError(msg, file=source, field=field)
    got = err.get("input")
    got_s = "" if isinstance(got, dict) else f" (got {got!r})"
    return ConfigError(f"{err.get('msg', 'invalid value')}{got_s}", file=source, field=field)


def load_config(kind: str, config: str | Path | None = None, overrides: dict | None = None) -> CommonConfig:
    """Return the validated config of ``kind``: preset defaults, then the YAML file ``config``, then ``overrides``
    (a dict of possibly dotted keys, e.g. from ``parse_set``). Raises ConfigError for any bad or unknown setting."""
    check_kind(kind)
    raw = kind_defaults(kind)
    source = str(preset_path(kind))
    if config is not None:
        user = read_yaml(config)
        if "kind" in user and user["kind"] != kind:
            raise ConfigError(f"the file is for KIND {user['kind']!r}, not {kind!r}", file=config, field="kind")
        raw = merge(raw, user)
        source = str(config)
    if overrides:
        raw = apply_overrides(raw, overrides)
        try:
            validate_config(kind, raw)
        except ConfigError as exc:
            if exc.field and exc.field.split(".")[0] in {str(k).split(".")[0] for k in overrides}:
                raise ConfigError(exc.message, field=exc.field) from None  # the bad value came from --set
            raise
    return validate_config(kind, raw, source=source)


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
