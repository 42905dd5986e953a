"""``python -m rcbench`` is the ``rcbench`` command."""

import sys

from rcbench.cli import main

sys.exit(main())
