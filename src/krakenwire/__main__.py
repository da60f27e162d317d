"""``python -m krakenwire``: the same as the ``krakenwire`` command."""

from .cli import main

if __name__ == "__main__":  # not on import (the docs generator imports every module)
    raise SystemExit(main())
