"""`python -m bench` (or `python3 dev.py bench`): see bench/run.py."""

import sys

from bench.run import main

sys.exit(main())
