"""Sub-commands of the ``studio`` CLI; each module defines one click command named ``command``."""
