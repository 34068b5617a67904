"""A timeline's music, analysed: :class:`AudioTrack` holds the analysis of the ``audio:`` file (cached by content,
``studio.audio.cache``) and what the schema needs from it — the length after ``offset`` and the beat grid.
``studio.timeline.with_audio`` attaches one to a Timeline (and validates beat keyframes and lengths again)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ganlib.errors import UserError
from studio.audio.analysis import AudioAnalysis, beats_after
from studio.audio.beatgrid import beat_time
from studio.audio.cache import analyse_file
from studio.errors import TimelineError


@dataclass(frozen=True)
class AudioTrack:
    """The analysed ``audio:`` of a timeline: ``path``, ``offset`` (seconds skipped), ``duration`` (seconds after
    the offset), ``tempo`` (BPM), ``beat_times`` (seconds from the offset) and the whole file's ``analysis``."""

    path: str
    offset: float
    duration: float
    tempo: float
    beat_times: np.ndarray = field(repr=False)
    analysis: AudioAnalysis = field(repr=False)

    def beat_time(self, beat: float) -> float:
        """Seconds from the offset of beat number ``beat`` (0 = the first beat at or after the offset)."""
        return beat_time(self.beat_times, self.tempo, beat)


def load_track(spec, *, source: str, line: int | None) -> AudioTrack:
    """Analyse the timeline's ``audio`` ``spec`` (an ``AudioSpec``); a missing or undecodable file, or an offset
    past its end, is a TimelineError naming the timeline ``source``:``line`` and the audio file."""
    try:
        analysis, _ = analyse_file(spec.path)
    except UserError as exc:
        raise TimelineError(f"{exc.message}: {spec.path}", file=source, line=line, field="audio") from None
    if spec.offset >= analysis.duration:
        raise TimelineError(f"offset {spec.offset:g} s is past the end of {spec.path} ({analysis.duration:.2f} s)",
                            file=source, line=line, field="audio.offset")
    beats = beats_after(analysis.beat_times, spec.offset)
    return AudioTrack(path=spec.path, offset=float(spec.offset), duration=analysis.duration - spec.offset,
                      tempo=float(analysis.tempo), beat_times=beats, analysis=analysis)
