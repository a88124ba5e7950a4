"""`python -m emulator` (or `python3 dev.py emulator`): see emulator/cli.py."""

import sys

from emulator.cli import main

sys.exit(main())
