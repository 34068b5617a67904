"""The Gradio studio (``studio ui``): explore seeds, keyframe a timeline, preview, render and download in a browser.

The package is split so that the logic can be tested without a browser or a server:

* :mod:`studio.ui.state`     pure editing operations on the real :class:`studio.timeline.Timeline`
* :mod:`studio.ui.settings`  the timeline-wide settings, with choices and defaults read from the schema
* :mod:`studio.ui.models`    which checkpoints the studio offers (built-ins, the models folder, safe uploads)
* :mod:`studio.ui.imaging`   seed gallery pages, single-frame previews, model summaries
* :mod:`studio.ui.jobs`      the render / batch queue: one folder per job under the output folder
* :mod:`studio.ui.context`   what the tabs share (catalog, jobs, output folder, the session's Timeline state)
* :mod:`studio.ui.tabs`      one module per tab (explore, timeline, render, batch): layout and events
* :mod:`studio.ui.app`       ``build_app`` (the Blocks made of those tabs) and ``launch``

Importing this package switches Gradio and the Hugging Face Hub client to offline mode (no analytics, no version
check, no telemetry) unless the environment already says otherwise; :mod:`studio.ui.app` imports it before
``gradio``.
"""
from __future__ import annotations

import os

for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_OFFLINE", "1"),
                      ("HF_HUB_DISABLE_TELEMETRY", "1"), ("GRADIO_SSR_MODE", "False")):
    os.environ.setdefault(_name, _value)
