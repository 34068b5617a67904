"""The OSC input of the live player (python-osc, an optional extra: ``pip install 'latent-studio[live]'``).

Every message goes through :func:`studio.live.controls.parse_control`; unknown addresses, wrong argument types and
packets that are not OSC at all are reported once each (``LogOnce``) and never stop the server or the player.
"""
from __future__ import annotations

import importlib
import threading
import time
from typing import Callable

from ganlib.errors import UserError
from studio.live.controls import Control, ControlError, LogOnce, parse_control

INSTALL_HINT = "pip install 'latent-studio[live]'  (python-osc, mido, python-rtmidi)"


def require(module: str, what: str):
    """Import and return optional module ``module``; raise UserError saying how to install it when absent."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(f"{what} needs the optional package '{module}': {INSTALL_HINT}") from None


class OSCInput:
    """A UDP OSC server on ``host``:``port`` (0 = any free port) that hands each checked :class:`Control` to
    ``submit``; problems go to ``problems`` (a LogOnce). :meth:`start` serves in a thread, :meth:`close` stops."""

    def __init__(self, submit: Callable[[Control], None], problems: LogOnce, host: str = "127.0.0.1",
                 port: int = 9000):
        dispatcher_mod = require("pythonosc.dispatcher", "OSC control")
        server_mod = require("pythonosc.osc_server", "OSC control")
        packet_mod = require("pythonosc.osc_packet", "OSC control")
        self.submit, self.problems = submit, problems
        outer = self

        class _Dispatcher(dispatcher_mod.Dispatcher):
            def call_handlers_for_packet(self, data, client_address):
                try:
                    packet_mod.OscPacket(data)
                except packet_mod.ParseError as exc:
                    outer.problems(f"malformed OSC packet ignored ({exc})")
                    return []
                return super().call_handlers_for_packet(data, client_address)

        class _Server(server_mod.ThreadingOSCUDPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                ok = super().verify_request(request, client_address)
                if not ok:
                    outer.problems("a UDP packet that is not OSC was ignored")
                return ok

        dispatcher = _Dispatcher(strict_timing=False)
        dispatcher.set_default_handler(self._handle)
        try:
            self.server = _Server((host, int(port)), dispatcher)
        except OSError as exc:
            raise UserError(f"cannot listen for OSC on {host}:{port} ({exc.strerror or exc})",
                            field="--osc-port") from None
        self.thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server listens on."""
        return self.server.server_address[:2]

    def _handle(self, address: str, *args) -> None:
        try:
            control = parse_control(address, args, received=time.monotonic())
        except ControlError as exc:
            self.problems(str(exc))
            return
        self.submit(control)

    def start(self) -> "OSCInput":
        """Serve in a daemon thread; return self."""
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="live-osc", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop the server and free the port. Returns None."""
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


__all__ = ["OSCInput", "require", "INSTALL_HINT"]
