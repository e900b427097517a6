"""python3 -m defisim: see defisim.cli."""
import sys

from .cli import main

sys.exit(main())
