"""``python -m esdr``: the ``esdr`` command, for a venv whose ``bin/`` is not on PATH."""

from esdr.cli.main import main

if __name__ == "__main__":
    main()
