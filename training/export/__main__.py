"""python -m training.export: see training/export/onnx.py."""

import sys

from training.export import main

sys.exit(main())
