"""Developer and CI scripts, run as `python scripts/<name>.py` (importable for their tests)."""
