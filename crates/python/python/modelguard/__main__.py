"""``python -m modelguard …``: the ``modelguard`` command."""

from ._cli import main

main()
