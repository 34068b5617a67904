"""The names a timeline may use for audio features and bands (no numpy, so the schema imports it cheaply)."""
from __future__ import annotations

FEATURES = ("onsets", "rms", "flux", "chroma", "beat")
BANDED_FEATURES = ("onsets", "rms")
BAND_NAMES = ("low", "mid", "high", "all")
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
