"""`python -m emulator.fc`: the `dev.py emulator fc` command on its own."""

import argparse
import sys

from emulator.fc import cli

parser = argparse.ArgumentParser(prog="python -m emulator.fc", description=cli.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
cli.add_fc_options(parser)
sys.exit(cli.run_fc(parser.parse_args()))
