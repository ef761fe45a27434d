"""The platform's pydantic base model."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A model whose validator and serializer are built on its first use rather than when
    its module is imported: a Lambda's cold start builds those its first event touches,
    not every event's and every route's."""

    model_config = ConfigDict(defer_build=True)


def empty_list() -> list[Any]:
    """A list field's default factory. Not ``list``: pydantic reads a factory's signature,
    and a builtin's is parsed from its text by tokenize, whose first use in a process
    compiles its regular expressions: a cold start's work for nothing."""
    return []
