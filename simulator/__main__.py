"""``python -m simulator``: the simulated device in real time (``simulator.serve.cli``)."""

import sys

from simulator.serve.cli import main

if __name__ == "__main__":
    sys.exit(main())
