"""Compare two training output folders evaluated on the same test data: ``python -m training.compare A B``.

``report.py`` reads each run's files, sets the figures side by side and writes ``comparison.*``.
"""

from training.compare.report import compare_runs, format_markdown, load_run, main, plot_per_class_f1

__all__ = ["compare_runs", "format_markdown", "load_run", "main", "plot_per_class_f1"]
