"""The live page and the MJPEG stream, on the standard library's threading HTTP server.

Routes: ``/`` a full-screen page (press S or click the corner to show fps, dropped frames and latency),
``/stream.mjpg`` (multipart/x-mixed-replace JPEG frames for a browser, VLC, OBS or TouchDesigner), ``/frame.jpg``
(the newest frame) and ``/stats.json``. Binds 127.0.0.1 unless another host is given.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from studio.live.player import FrameHub

BOUNDARY = "studioframe"
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Latent Studio live</title>
<style>html,body{margin:0;height:100%;background:#000;overflow:hidden}
img{width:100vw;height:100vh;object-fit:contain;display:block}
#s{position:fixed;left:8px;top:8px;font:13px monospace;color:#0f0;background:#000a;padding:6px;display:none;
white-space:pre}#t{position:fixed;right:0;top:0;width:48px;height:48px;cursor:pointer}</style></head>
<body><img src="/stream.mjpg" alt="live"><div id="s"></div><div id="t" title="stats (S)"></div><script>
const s=document.getElementById('s');let on=false,timer=null;
async function poll(){try{const r=await fetch('/stats.json');const j=await r.json();
s.textContent=`fps ${j.fps.toFixed(1)} / ${j.fps_target}`+
`\\nframe ${j.last_frame}  drawn ${j.frames}  dropped ${j.dropped}`+
`\\ngenerate ${j.frame_ms.toFixed(1)} ms\\nlatency ${j.latency_ms===null?'-':j.latency_ms.toFixed(1)+' ms'}`+
`\\ncontrols ${j.controls}  rejected ${j.rejected}`;}catch(e){s.textContent='stopped';}}
function toggle(){on=!on;s.style.display=on?'block':'none';if(on){poll();timer=setInterval(poll,500);}
else clearInterval(timer);}
document.getElementById('t').onclick=toggle;
document.addEventListener('keydown',e=>{if(e.key==='s'||e.key==='S')toggle();
if(e.key==='f'||e.key==='F')document.documentElement.requestFullscreen();});
</script></body></html>"""


class LiveServer(ThreadingHTTPServer):
    """The HTTP server of the live player: serves ``hub``'s frames and ``stats()`` (a dict)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], hub: FrameHub, stats: Callable[[], dict]):
        super().__init__(address, _Handler)
        self.hub = hub
        self.stats = stats
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, e.g. http://127.0.0.1:8765/."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "LiveServer":
        """Serve in a daemon thread; return self."""
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="live-http", daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop serving, end every stream and free the port. Returns None."""
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: LiveServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        """Keep the terminal quiet (no line per request)."""

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        """Serve the page, the stream, one frame or the stats."""
        path = self.path.split("?", 1)[0]
        hub = self.server.hub
        try:
            if path in ("/", "/index.html"):
                self._send(200, "text/html; charset=utf-8", PAGE.encode())
            elif path == "/stats.json":
                self._send(200, "application/json", json.dumps(self.server.stats()).encode())
            elif path == "/frame.jpg":
                got = hub.wait_next(-1, timeout=5.0)
                if got is None:
                    self._send(503, "text/plain", b"no frame yet\n")
                else:
                    self._send(200, "image/jpeg", hub.jpeg(*got))
            elif path == "/stream.mjpg":
                self._stream()
            else:
                self._send(404, "text/plain", b"not found: try / or /stream.mjpg\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream(self) -> None:
        hub = self.server.hub
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        last = -1
        while not self.server.stopping.is_set():
            got = hub.wait_next(last, timeout=0.5)
            if got is None:
                if hub.closed:
                    break
                continue
            last, frame = got
            data = hub.jpeg(last, frame)
            self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                             .encode() + data + b"\r\n")
            self.wfile.flush()


def serve(hub: FrameHub, stats: Callable[[], dict], host: str = "127.0.0.1", port: int = 8765) -> LiveServer:
    """Start the live HTTP server on ``host``:``port`` (0 = any free port) in a thread; return it."""
    return LiveServer((host, int(port)), hub, stats).start()


__all__ = ["LiveServer", "serve", "PAGE", "BOUNDARY"]
