"""The studio's tabs, one module each: ``explore``, ``timeline``, ``render``, ``batch``.

Each module has a ``build`` function that lays out its tab inside the current ``gr.Tab`` and wires that tab's
events to the shared :class:`studio.ui.context.Studio` (model catalog, job queue, the session's Timeline state).
"""
