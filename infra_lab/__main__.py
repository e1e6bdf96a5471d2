"""``python -m infra_lab ARGS``: the ``infra-lab`` command (:func:`infra_lab.cli.main`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
