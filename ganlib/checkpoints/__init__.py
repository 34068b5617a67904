"""Checkpoint loading and saving. ``load_generator(spec)`` accepts ``builtin:NAME`` or a path to any supported
checkpoint format (chosen by content); ``save_generator`` writes the project's own safetensors format.
"""
from __future__ import annotations

from ganlib.checkpoints.native import LoadedModel, save_generator
from ganlib.checkpoints.registry import builtin_models_dir, detect_format, load_generator, resolve_spec

__all__ = ["LoadedModel", "save_generator", "load_generator", "resolve_spec", "detect_format", "builtin_models_dir"]
