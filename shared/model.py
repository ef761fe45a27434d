"""The platform's pydantic base model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A model whose validator and serializer are built on its first use rather than when
    its module is imported: a Lambda's cold start builds those its first event touches,
    not every event's and every route's."""

    model_config = ConfigDict(defer_build=True)
