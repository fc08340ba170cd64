"""Run one night and kill -9 this process at a named point (a helper process for test_crash.py).

usage: python tests/nightkill.py POINT INBOX WAREHOUSE REPORTS
POINT: ingest (after the first file is loaded), indicators (after the indicator stage), deliver (after
the outbox was sent), publish (after the final checkpoint, before the building copy replaces the warehouse).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after(module: object, name: str) -> None:
    """Make module.name kill the process once it has returned."""
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        die()
        return result

    setattr(module, name, wrapped)


def main(point: str, inbox: str, warehouse: str, reports: str) -> None:
    import flows.nightly as night
    import flows.support.warehouse as wh

    if point == "ingest":
        after(night.loader, "apply_load")
    elif point == "indicators":
        after(night, "update_indicators")
    elif point == "deliver":
        after(night, "flush")
    elif point == "publish":
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if str(dst) == warehouse:
                die()
            return real_replace(src, dst, *args, **kwargs)

        wh.os.replace = replace
    else:
        raise SystemExit(f"unknown point {point!r}")
    night.nightly(inbox=Path(inbox), warehouse=Path(warehouse), reports=Path(reports))
    raise SystemExit("the night finished: the kill point was never reached")


if __name__ == "__main__":
    main(*sys.argv[1:])
