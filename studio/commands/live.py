"""``studio live``: play a timeline in real time on a web page and as an MJPEG stream, steered over OSC and MIDI,
optionally recording the performance as a timeline."""
from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click
import torch

from ganlib.errors import UserError
from studio.live.directions import load_user_directions, parse_direction_specs
from studio.live.midi import MidiInput, load_mapping
from studio.live.osc import OSCInput
from studio.live.player import Player
from studio.live.recording import write_recording
from studio.live.server import serve
from studio.options import device_option, dtype_option
from studio.render import get_model
from studio.timeline import load_timeline, timeline_from_dict


def with_fps(tl, fps: float | None):
    """Return timeline ``tl`` played at ``fps`` frames per second (``tl`` itself when None)."""
    if fps is None or fps == tl.fps:
        return tl
    if fps <= 0:
        raise UserError("must be a positive number of frames per second", field="--fps")
    return timeline_from_dict({**tl.model_dump(exclude_none=True), "fps": float(fps)}, source=tl.source)


@click.command("live")
@click.argument("timeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="HTTP port of the page (/) and the MJPEG stream (/stream.mjpg).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address the page, stream and OSC listen on; 0.0.0.0 opens them to your network.")
@click.option("--osc-port", type=click.IntRange(0, 65535), default=9000, show_default=True,
              help="UDP port for OSC control (/studio/seed i, /studio/truncation f, ...).")
@click.option("--midi", "midi_port", default=None, help="MIDI input port to open (needs --map).")
@click.option("--map", "mapping", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MIDI mapping file (.yaml): CC/notes → control addresses.")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="On stop, write the performance as a timeline (.yaml) that 'studio render' draws again.")
@click.option("--fps", type=float, default=None, help="Frames per second to play (default: the timeline's).")
@click.option("--transition", type=click.FloatRange(0, 60), default=1.0, show_default=True,
              help="Seconds a seed or keyframe change takes at first (/studio/transition changes it).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after SECONDS of playback (default: until Ctrl-C or /studio/stop).")
@click.option("--directions", "direction_specs", multiple=True, metavar="NAME=FILE.npy",
              help="A user direction in w ([w_dim], or [k, w_dim] for NAME0..NAME{k-1}), steered with "
                   "/studio/direction/NAME f (1 = one slider step). Repeat for more.")
@click.option("--threads", type=click.IntRange(0, 1024), default=1, show_default=True,
              help="CPU threads torch draws with (0 = torch's default, one per core). One draws small models "
                   "fastest and leaves a core to the stream, and is many times faster on a busy machine.")
@device_option
@dtype_option
def command(timeline: Path, port: int, host: str, osc_port: int, midi_port: str | None, mapping: Path | None,
            record: Path | None, fps: float | None, transition: float, duration: float | None,
            direction_specs: tuple[str, ...], threads: int, device: str, dtype: str) -> None:
    """Play TIMELINE (a .yaml file) in real time, looping, steered over OSC (and MIDI with --map)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if record is not None and record.suffix.lower() not in (".yaml", ".yml"):
        raise UserError(f"a recording is a timeline file: give a .yaml path, got '{record.name}'", field="--record")
    midi_map = load_mapping(mapping) if mapping is not None else None
    midi_name = midi_port or (midi_map.port if midi_map is not None else None)
    if midi_name is not None and midi_map is None:
        raise UserError("--midi needs a mapping file: --map controls.yaml", field="--midi")
    tl = with_fps(load_timeline(timeline), fps)
    if threads:
        torch.set_num_threads(threads)
    files = dict(midi_map.directions or {}) if midi_map is not None else {}
    files.update(parse_direction_specs(direction_specs))
    model = get_model(tl.model, device)
    directions = load_user_directions(model.G, files)
    player = Player(tl, model, dtype=dtype, transition=transition, directions=directions)
    closers = []
    try:
        osc = OSCInput(player.submit, player.problems, host, osc_port).start()
        closers.append(osc.close)
        server = serve(player.hub, player.stats.as_dict, host, port)
        closers.append(server.close)
        if midi_name is not None:
            closers.append(MidiInput(midi_name, midi_map, player.submit, player.problems).close)
        for note in player.stats.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(f"live: {server.url} (stream {server.url}stream.mjpg); OSC on udp://{host}:{osc.address[1]}"
                   f"{f'; MIDI from {midi_name!r}' if midi_name else ''}. Ctrl-C or /studio/stop ends.")
        max_frames = int(round(duration * player.fps)) if duration is not None else None
        # Ctrl-C asks the loop to stop between frames, so the recording is never cut in the middle of a control.
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, lambda *_: player.stop()) if main_thread else None
        try:
            player.run(max_frames=max_frames)
        except KeyboardInterrupt:
            player.stop()
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
    finally:
        for close in reversed(closers):
            close()
    s = player.stats
    click.echo(f"played {s.last_frame + 1} frames ({s.frames} drawn, {s.dropped} dropped) at {s.fps:.1f} fps")
    if record is not None:
        out = write_recording(player.recording(), record, player.events, str(timeline))
        click.echo(f"wrote {out} ({len(player.events)} control events); render it with: studio render {out} "
                   f"--batch 1")
    player.close()


__all__ = ["command", "with_fps"]
