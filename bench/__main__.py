"""``python -m bench``: run the load benchmark."""

import sys

from bench.cli import main

sys.exit(main())
