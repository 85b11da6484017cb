"""``python -m fsth_core <command>``: see ``fsth_core.cli``."""
import sys

from fsth_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
