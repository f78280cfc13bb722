"""Publish a training output folder to the Hugging Face Hub: model card, one-commit upload, Space deploy.

``python -m publish OUTPUT_DIR --repo-id ns/name`` (see ``publish/__main__.py``), or from Python
:func:`publish.hub.publish_folder`. The card is built offline by :mod:`publish.card`.
"""
