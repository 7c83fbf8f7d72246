"""The local backend: a lake folder, the file registry, FLAML, the model in-process, and a pointer
file as the "endpoint" the local API serves."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from include.backends.base import LakeAndRaw

if TYPE_CHECKING:  # pragma: no cover
    from include.config import Settings
    from include.training.model import AqiModel
    from include.training.registry import LocalRegistry, ModelVersion


class LocalBackend(LakeAndRaw):
    name = "local"

    def __init__(self, settings: "Settings"):
        self.settings = settings

    @functools.cached_property
    def registry(self) -> "LocalRegistry":
        from include.training.registry import LocalRegistry

        return LocalRegistry(self.lake, group=self.settings.model_group)

    def champion_model(self, champion: "ModelVersion") -> "AqiModel":
        from include.training.model import AqiModel

        return AqiModel.from_bytes(self.registry.load_artifact(champion))
