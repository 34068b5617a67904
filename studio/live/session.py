"""One live player at a time inside another program (the Gradio studio's "Live" button): start it for a timeline
in background threads, on free loopback ports, and stop the previous one."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from ganlib.errors import UserError
from studio.live.osc import OSCInput
from studio.live.player import Player
from studio.live.server import LiveServer, serve


@dataclass
class LiveSession:
    """A running player: its thread, HTTP server and OSC input (None when python-osc is absent)."""

    player: Player
    server: LiveServer
    osc: OSCInput | None
    thread: threading.Thread
    osc_note: str = ""

    @property
    def url(self) -> str:
        """The player's page."""
        return self.server.url

    def describe(self) -> str:
        """Return one Markdown line: the page link and where OSC listens."""
        osc = (f"OSC on udp://127.0.0.1:{self.osc.address[1]}" if self.osc is not None else self.osc_note)
        return f"Live player: [{self.url}]({self.url}) (stream: {self.url}stream.mjpg) · {osc}"

    def close(self) -> None:
        """Stop the player and free its ports and files. Returns None."""
        self.player.stop()
        if self.osc is not None:
            self.osc.close()
        self.server.close()
        self.thread.join(timeout=10)
        self.player.close()


_LOCK = threading.Lock()
_CURRENT: list[LiveSession] = []


def open_live(tl, model, *, dtype: str = "auto", host: str = "127.0.0.1") -> LiveSession:
    """Stop the live session started before (if any) and start one playing timeline ``tl`` with ``model`` (a
    LoadedModel) on free ports of ``host``; return it."""
    with _LOCK:
        close_live()
        player = Player(tl, model, dtype=dtype)
        osc, note = None, ""
        try:
            osc = OSCInput(player.submit, player.problems, host, 0).start()
        except UserError as exc:
            note = f"no OSC: {exc.message}"
        server = serve(player.hub, player.stats.as_dict, host, 0)
        thread = threading.Thread(target=player.run, name="live-player", daemon=True)
        thread.start()
        session = LiveSession(player, server, osc, thread, note)
        _CURRENT.append(session)
        return session


def close_live() -> None:
    """Stop the current live session, if any. Returns None."""
    while _CURRENT:
        _CURRENT.pop().close()


__all__ = ["LiveSession", "open_live", "close_live"]
