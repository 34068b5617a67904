"""The Gradio studio (``studio ui``): explore seeds, keyframe a timeline, preview, render and download in a browser.

The package is split so that the logic can be tested without a browser or a server:

* :mod:`studio.ui.state`   pure timeline-editing operations on a plain dict (the YAML's shape)
* :mod:`studio.ui.models`  which checkpoints the studio offers (built-ins, the models folder, safe uploads)
* :mod:`studio.ui.imaging` seed gallery pages, single-frame previews, model summaries
* :mod:`studio.ui.jobs`    the render / batch queue: one folder per job under the output folder
* :mod:`studio.ui.app`     the thin Gradio Blocks layout wiring those functions to components

Importing this package switches Gradio and the Hugging Face Hub client to offline mode (no analytics, no version
check, no telemetry) unless the environment already says otherwise; import it before ``gradio``.
"""
from __future__ import annotations

import os

for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"),
                      ("HF_HUB_DISABLE_TELEMETRY", "1"), ("GRADIO_SSR_MODE", "False")):
    os.environ.setdefault(_name, _value)


def build_app(models_dir=None, output_dir="renders/ui", **kwargs):
    """Build the studio's ``gr.Blocks`` (see :func:`studio.ui.app.build_app`)."""
    from studio.ui.app import build_app as _build
    return _build(models_dir, output_dir, **kwargs)


__all__ = ["build_app"]
