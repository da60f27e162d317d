"""``python -m krakenwire``: the same as the ``krakenwire`` command."""

from .cli import main

raise SystemExit(main())
