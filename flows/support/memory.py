"""How polars' allocator returns memory: set before polars is first imported, in every process of a night.

polars allocates with jemalloc and sets `dirty_decay_ms:500`: half a second after a frame is freed its pages go
back to the system, so the next file's frames of the same size are faulted in again and the kernel zeroes every
page. A night reads file after file of the same shape (nation night 1, one process: 9.5 M page faults, 25 s of
system CPU in an 86 s ingest). jemalloc reads its options once, from `_RJEM_MALLOC_CONF`, when polars' library
first allocates; processes the night starts (the night's worker, Dask workers) inherit the variable.
"""

from __future__ import annotations

import logging
import os
import sys

from flows.support.settings import POLARS_DIRTY_DECAY_MS

log = logging.getLogger(__name__)
VARIABLE = "_RJEM_MALLOC_CONF"   # tikv-jemalloc's name for MALLOC_CONF (its symbols carry the _rjem_ prefix)
# The operator's own `_RJEM_MALLOC_CONF` as the first clusterwatch process found it, for the processes it starts
# (which inherit the variable as that process rewrote it).
OPERATOR = "CLUSTERWATCH_OPERATOR_RJEM_MALLOC_CONF"


def configure_polars_allocator(decay_ms: int = POLARS_DIRTY_DECAY_MS) -> None:
    """Put `decay_ms` into jemalloc's options ahead of the operator's own, if any (later options win, so an
    operator's `_RJEM_MALLOC_CONF` still decides). Too late once polars is loaded: said, not ignored."""
    if "polars" in sys.modules:
        log.warning("polars was imported before clusterwatch: its allocator keeps polars' own page decay "
                    "(CLUSTERWATCH_POLARS_DIRTY_DECAY_MS is not applied in this process)")
        return
    operator = os.environ.setdefault(OPERATOR, os.environ.get(VARIABLE, ""))
    os.environ[VARIABLE] = f"dirty_decay_ms:{decay_ms},{operator}" if operator else f"dirty_decay_ms:{decay_ms}"
