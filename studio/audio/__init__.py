"""Music for timelines: decoding (``decode``), per-frame feature analysis (``analysis``, pure given the samples)
and an on-disk cache of analyses keyed by the file's content (``cache``)."""
