"""The ``modelguard`` console script: the Rust CLI (``modelguard_cli::run``) in this process."""

from __future__ import annotations

import signal
import sys
from typing import List, Optional

from . import _native


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``modelguard`` with ``argv`` (default ``sys.argv``) and exit with its code."""
    args = list(sys.argv if argv is None else ["modelguard", *argv])
    if args:
        args[0] = "modelguard"
    # Python's SIGINT handler only sets a flag that the Rust code never checks: restore the
    # default so Ctrl-C stops a long scan, as it does the binary.
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:  # not the main thread
        pass
    sys.stdout.flush()
    code = _native.main(args)
    if argv is None:
        sys.exit(code)
    return code
