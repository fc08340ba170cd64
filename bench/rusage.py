"""CPU seconds from getrusage, for the benchmark scripts beside this file (run as `python bench/<script>.py`, which
puts this folder first on the path)."""

from __future__ import annotations

import resource


def cpu_seconds(*who: int) -> float:
    """User + system CPU seconds of `who` (resource.RUSAGE_SELF: this process and its threads, DuckDB's included;
    resource.RUSAGE_CHILDREN: the child processes it has waited for), summed; this process when none is named."""
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, who or (resource.RUSAGE_SELF,)))
