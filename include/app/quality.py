"""The quality gate of a partition (Great Expectations): results and Data Docs in the lake; a
critical failure raises ``QualityGateFailed`` with the readable summary."""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from include.backends.base import Backend
    from include.quality.gate import GateResult


def gate(backend: "Backend", day: dt.date, *, raise_on_failure: bool = True, data_docs: bool = True) -> "GateResult":
    from include.quality.gate import run_gate

    return run_gate(backend.lake, day, raise_on_failure=raise_on_failure, data_docs=data_docs,
                    rules=backend.settings.quality, etl_rules=backend.settings.etl)
