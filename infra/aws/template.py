"""Reads infra/template.yaml: the one place where tables and queues are defined. Ops and the
tests create their tables and queues from these very resource definitions."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """A safe loader that turns CloudFormation short tags (!Ref, !Sub, !GetAtt...) into
    their long form ({"Ref": ...}, {"Fn::Sub": ...}), so plain YAML tools can read SAM."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # a SafeLoader subclass: safe


def resource(logical_id: str) -> dict[str, Any]:
    return load()["Resources"][logical_id]


def _logical(service: str, kind: str) -> str:
    return f"{service.capitalize()}{kind}"


def table_spec(service: str, name: str) -> dict[str, Any]:
    """``create_table`` keyword arguments for a service's table, named ``name``."""
    props = resource(_logical(service, "Table"))["Properties"]
    spec = {k: v for k, v in props.items()
            if k in ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
                     "BillingMode", "StreamSpecification")}
    if "StreamSpecification" in spec:  # CloudFormation implies what the API spells out
        spec["StreamSpecification"] = {"StreamEnabled": True, **spec["StreamSpecification"]}
    return {"TableName": name, **spec}


def time_to_live(service: str) -> dict[str, Any]:
    """The table's TimeToLiveSpecification (``update_time_to_live`` sets it apart)."""
    return dict(resource(_logical(service, "Table"))["Properties"]["TimeToLiveSpecification"])


def queue_logical(queue: str, kind: str = "Queue") -> str:
    """A queue's resource (``kind`` "Queue" or "DeadLetterQueue"): "followups-events" is
    FollowupsQueue, a job's own "followups-mail" FollowupsMailQueue."""
    return "".join(w.capitalize() for w in queue.removesuffix("-events").split("-")) + kind


def queue_attributes(queue: str) -> tuple[dict[str, str], int]:
    """The SQS attributes of a queue (without its redrive policy, which needs the DLQ's
    ARN) and the redrive's maxReceiveCount."""
    props = resource(queue_logical(queue))["Properties"]
    keep = ("VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds")
    attrs = {k: str(v) for k, v in props.items() if k in keep}
    return attrs, int(props["RedrivePolicy"]["maxReceiveCount"])


def dead_letter_attributes(queue: str) -> dict[str, str]:
    props = resource(queue_logical(queue, "DeadLetterQueue"))["Properties"]
    return {k: str(v) for k, v in props.items() if k == "MessageRetentionPeriod"}
