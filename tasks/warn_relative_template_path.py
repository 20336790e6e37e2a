"""Copy task: warn when the new project records a relative template path.

`copier update` (`make template-update`) finds the template again by `_src_path` in
`.copier-answers.yml`; a relative path only resolves from the directory the copy ran in, so the
first update would fail with a confusing message. Runs in the new project's directory; prints
one warning line and never fails the copy.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ANSWERS = Path(".copier-answers.yml")
# Absolute paths, home-relative paths and anything with a URL scheme or a git shorthand.
LOCATABLE = re.compile(
    r"""^_src_path:\s*["']?([/~]|[A-Za-z]:[\\/]|[A-Za-z][\w+.-]*://|gh:|gl:|git@)"""
)


def main() -> int:
    text = ANSWERS.read_text(encoding="utf-8") if ANSWERS.is_file() else ""
    recorded = re.search(r"^_src_path:\s*(.+)$", text, re.MULTILINE)
    if recorded and not LOCATABLE.search(recorded.group(0)):
        print(
            f"WARNING: the template path {recorded.group(1).strip()} recorded in "
            f"{ANSWERS} is relative, so `make template-update` will not find it later. Copy "
            "again with an absolute path or a git URL, or set _src_path to one.",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
