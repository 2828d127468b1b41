"""Regenerate the golden --fix outputs of the fixture repositories.

    python tests/update_golden.py                      # every fixture file; removes stale goldens
    python tests/update_golden.py fixtures/x/a.py ...  # only these files (safe while others work)

Review the diff before committing: a golden file is a claim that this is the right fix.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixture_support import GOLDEN, PROJECTS, fix_file, golden_path, python_files  # noqa: E402


def main(argv: list[str]) -> int:
    wanted: set[Path] = set()
    only = [Path(a).resolve() for a in argv]
    targets = only or [path for project in PROJECTS for path in python_files(project)]
    for path in targets:
        for unsafe in (False, True):
            fixed = fix_file(path, unsafe)
            if fixed is None:
                stale = golden_path(path, unsafe)
                if only and stale.exists():
                    stale.unlink()
                    print(f"removed {stale.relative_to(GOLDEN.parent.parent)}")
                continue
            target = golden_path(path, unsafe)
            wanted.add(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != fixed:
                target.write_bytes(fixed)
                print(f"wrote {target.relative_to(GOLDEN.parent.parent)}")
    for stale in [] if only else GOLDEN.rglob("*.fixed"):
        if stale not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(GOLDEN.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
