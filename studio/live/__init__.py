"""The live player: plays a timeline in real time, steered over OSC and MIDI, and records the performance as a
timeline that ``studio render`` turns into the same frames offline.

Modules: ``controls`` (the control addresses and their checks), ``performance`` (the pure control model: events →
keyframes), ``frames`` (frames of the performance through the render path), ``player`` (frame pacing),
``server`` (the page and the MJPEG stream), ``osc`` and ``midi`` (inputs), ``directions`` (user direction files),
``recording`` (the timeline file).
"""
