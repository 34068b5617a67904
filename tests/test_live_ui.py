"""The studio's "Live" button opens the live player for the session's timeline (gradio_client, loopback)."""
from __future__ import annotations

import http.client
import re
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest

from studio.live.session import close_live
from ui_support import studio_server

pytest.importorskip("pythonosc")


def test_live_button_opens_the_player_for_the_timeline(tmp_path, one_torch_thread):
    with studio_server(tmp_path) as srv:
        c = srv.client()
        c.predict(model="builtin:default", fps=8, size="model", duration=0, interpolation="linear", loop=False,
                  truncation=0.7, space="w", noise="fixed", api_name="/apply_settings")
        c.predict(seed=3, keyframe_truncation=0.7, api_name="/add_keyframe")
        c.predict(seed=9, keyframe_truncation=0.7, api_name="/add_keyframe")
        try:
            message = c.predict(api_name="/live")
            url = re.search(r"\((http://127\.0\.0\.1:\d+/)\)", message).group(1)
            assert "OSC on udp://127.0.0.1:" in message
            where = urlparse(url)
            conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
            conn.request("GET", "/")
            assert b"/stream.mjpg" in conn.getresponse().read()
            conn.request("GET", "/frame.jpg")
            resp = conn.getresponse()
            assert resp.status == 200
            img = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
            assert img is not None and img.shape[:2] == (64, 64)
            conn.close()
        finally:
            close_live()
