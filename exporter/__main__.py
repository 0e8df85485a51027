"""``python -m exporter``."""

import sys

from .cli import main

if __name__ == "__main__":  # not when a child process (reply decoder) imports it
    sys.exit(main())
