import sys

from aecli.cli import main

sys.exit(main())
