"""Fine-tune a transformer to classify short texts (emotions of tweets by default).

Run ``python -m training --help``; the pipeline is ``training/__main__.py``, read top to bottom.
"""
