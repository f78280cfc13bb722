"""python -m training.compare: see training/compare/report.py."""

import sys

from training.compare import main

sys.exit(main())
