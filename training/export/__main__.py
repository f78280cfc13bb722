"""python -m training.export: see training/export/run.py."""

import sys

from training.export import main

sys.exit(main())
