"""The result every training entry point returns."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainResult:
    """Where a run wrote its outputs, how many steps it made, its final metrics and its generator checkpoint."""

    out_dir: Path
    steps: int
    final_metrics: dict[str, float] = field(default_factory=dict)
    checkpoint: Path | None = None
