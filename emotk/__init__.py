"""emotk, the emotion toolkit's one command: ``emotk train|predict|ask|audit|export|compare|publish|flags|serve``.

``__main__.py`` holds only the dispatch table: each subcommand is a part's own command (``python -m training``,
``python -m training.predict``, ``python -m publish``, ``python -m space.flags``, ...), imported when it runs and
handed the rest of the command line, with ``emotk SUB`` as its name in its help.
"""
