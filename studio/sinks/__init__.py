"""Frame sinks (video, GIF, PNG sequence, zip) and the one output format table (``studio.sinks.formats``)."""
