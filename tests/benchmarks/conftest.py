"""The benchmarks are a top-level folder of the checkout, not an installed package: put the
checkout on ``sys.path`` so ``import benchmarks`` finds it (as ``python -m benchmarks`` does from
the repository root)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

if (ROOT / "benchmarks" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # last: the installed packages stay first
