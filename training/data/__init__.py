"""Reading data: any source (a Hub dataset, a folder of split files, one file, a URL) into train / validation /
test splits, single- or multi-label.

- ``load.py``: :func:`load_data`, the splits as ``datasets.Dataset`` with ``text`` and ``label``, checked;
- ``readers.py``: one data file (or a folder of split files) as rows, in every format we read; shared with
  ``training.predict``, and its CSV rule with the corrections' reader;
- ``download.py``: an http(s) URL to a data file, downloaded once into the user cache;
- ``hub.py``: a Hub dataset as rows, each split streamed a batch at a time;
- ``labels.py``: which runs are multi-label, each row's set of labels, and the checks per label;
- ``options.py``: the options that say how a source is read (text and label columns, multi-label cells),
  declared once for training, ``training.predict`` and ``training.ask``.
"""

from training.data.labels import label_set, multi_hot
from training.data.load import LoadedData, load_data
from training.data.readers import Columns, Row, read_rows

__all__ = ["Columns", "LoadedData", "Row", "label_set", "load_data", "multi_hot", "read_rows"]
