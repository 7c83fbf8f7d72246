"""What every backend provides (see ``include/backends/__init__.py``)."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from include.config import Settings
    from include.etl.rawio import RawRoot
    from include.forecast.predict import Model
    from include.lake import Lake
    from include.training.registry import ModelVersion, Registry


class Backend(Protocol):
    name: str
    settings: "Settings"

    @property
    def lake(self) -> "Lake": ...
    @property
    def raw(self) -> "RawRoot": ...
    @property
    def registry(self) -> "Registry": ...

    def champion_model(self, champion: "ModelVersion") -> "Model":
        """What predicts for the champion: the registered model in-process, or the endpoint."""


class LakeAndRaw:
    """The lake and raw root of a backend, built on first use (the Glue job never needs a registry)."""
    settings: "Settings"

    @functools.cached_property
    def lake(self) -> "Lake":
        from include.lake import Lake

        return Lake(self.settings.lake_root)

    @functools.cached_property
    def raw(self) -> "RawRoot":
        from include.etl.rawio import RawRoot

        return RawRoot(self.settings.raw_root)
