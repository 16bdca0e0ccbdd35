"""SageMaker ML Lineage Tracking for the local runtime: artifacts, actions, contexts and associations.

moto 5.2.5 implements none of these APIs, so the local AWS server answers them (local_runtime/server.py), whether
SageMaker itself is emulated or left to moto. Entities live in memory per region until the server stops or moto
is reset.
Errors follow SageMaker's: a missing entity is ResourceNotFound, a context or action name already taken is
a ValidationException saying it already exists, and so is an association made twice.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local_runtime.sagemaker.api import SageMakerApiError

ACCOUNT = "123456789012"
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")
ASSOCIATION_TYPES = frozenset({"ContributedTo", "AssociatedWith", "DerivedFrom", "Produced", "SameAs"})
_KINDS = {"artifact": "Artifact", "action": "Action", "context": "Context"}


@dataclass
class _Entity:
    kind: str  # artifact, action, context
    arn: str
    name: str | None
    entity_type: str | None
    source: dict[str, Any]
    properties: dict[str, str]
    status: str | None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def summary(self) -> dict[str, Any]:
        label = _KINDS[self.kind]
        answer: dict[str, Any] = {
            f"{label}Arn": self.arn,
            "Source": self.source,
            "CreationTime": self.created.timestamp(),
            "LastModifiedTime": self.created.timestamp(),
        }
        if self.name is not None:
            answer[f"{label}Name"] = self.name
        if self.entity_type is not None:
            answer[f"{label}Type"] = self.entity_type
        if self.status is not None:
            answer["Status"] = self.status
        return answer

    def description(self) -> dict[str, Any]:
        return {**self.summary(), "Properties": dict(self.properties)}


@dataclass(frozen=True)
class _Association:
    source: str
    destination: str
    association_type: str | None
    created: datetime


class LineageStore:
    """The lineage APIs the workflow's RecordLineage step and the lineage CLI call."""

    ACTIONS = frozenset(
        {
            "CreateArtifact",
            "DescribeArtifact",
            "ListArtifacts",
            "CreateAction",
            "DescribeAction",
            "ListActions",
            "CreateContext",
            "DescribeContext",
            "ListContexts",
            "AddAssociation",
            "ListAssociations",
        }
    )

    def __init__(self, account: str = ACCOUNT) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._entities: dict[str, dict[str, _Entity]] = {}  # region -> arn -> entity
        self._associations: dict[str, list[_Association]] = {}

    def handles(self, action: str) -> bool:
        return action in self.ACTIONS

    def reset(self) -> None:
        with self._lock:
            self._entities.clear()
            self._associations.clear()

    def handle(self, action: str, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            entities = self._entities.setdefault(region, {})
            associations = self._associations.setdefault(region, [])
            if action.startswith("Create"):
                return self._create(action[len("Create") :].lower(), region, entities, params)
            if action.startswith("Describe"):
                return self._describe(action[len("Describe") :].lower(), region, entities, params)
            if action == "ListAssociations":
                return self._list_associations(entities, associations, params)
            if action.startswith("List"):
                return self._list(action[len("List") : -1].lower(), entities, params)
            if action == "AddAssociation":
                return self._associate(entities, associations, params)
        raise SageMakerApiError("UnknownOperationException", f"{action} is not emulated")

    def _create(self, kind: str, region: str, entities: dict[str, _Entity], params: dict[str, Any]) -> dict[str, Any]:
        label = _KINDS[kind]
        name = params.get(f"{label}Name")
        source = params.get("Source")
        if kind != "artifact" and not name:
            raise _validation(f"{label}Name is required")
        if name is not None and not _NAME.match(str(name)):
            raise _validation(
                f"Value '{name}' at '{kind}Name' failed to satisfy constraint: Member must satisfy regular "
                "expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}"
            )
        if kind == "artifact" and not (isinstance(source, dict) and source.get("SourceUri")):
            raise _validation("Source.SourceUri is required")
        if kind == "artifact":
            # SageMaker names artifacts by an id of its own; the same URI may be registered again.
            digest = hashlib.sha256(f"{source}{len(entities)}".encode()).hexdigest()[:32]
            arn = self._arn(region, kind, digest)
        else:
            arn = self._arn(region, kind, str(name).lower())
            if arn in entities:
                raise _validation(f"{label} '{name}' already exists: {arn}")
        properties = params.get("Properties") or {}
        entities[arn] = _Entity(
            kind=kind,
            arn=arn,
            name=str(name) if name else None,
            entity_type=params.get(f"{label}Type"),
            source=dict(source or {}),
            properties={str(k): str(v) for k, v in properties.items()},
            status=params.get("Status") if kind == "action" else None,
        )
        return {f"{label}Arn": arn}

    def _describe(self, kind: str, region: str, entities: dict[str, _Entity], params: dict[str, Any]) -> dict[str, Any]:
        label = _KINDS[kind]
        if kind == "artifact":
            arn = str(params.get("ArtifactArn", ""))
        else:
            given = str(params.get(f"{label}Name", ""))
            arn = given if given.startswith("arn:") else self._arn(region, kind, given.lower())
        entity = entities.get(arn)
        if entity is None or entity.kind != kind:
            raise SageMakerApiError("ResourceNotFound", f"{label} '{arn}' does not exist.")
        return entity.description()

    def _list(self, kind: str, entities: dict[str, _Entity], params: dict[str, Any]) -> dict[str, Any]:
        label = _KINDS[kind]
        wanted_type = params.get(f"{label}Type")
        source_uri = params.get("SourceUri")
        found = [
            e
            for e in entities.values()
            if e.kind == kind
            and (wanted_type is None or e.entity_type == wanted_type)
            and (source_uri is None or e.source.get("SourceUri") == source_uri)
        ]
        found.sort(key=lambda e: e.created, reverse=params.get("SortOrder", "Descending") == "Descending")
        return {f"{label}Summaries": [e.summary() for e in found]}

    def _associate(
        self, entities: dict[str, _Entity], associations: list[_Association], params: dict[str, Any]
    ) -> dict[str, Any]:
        source, destination = str(params.get("SourceArn", "")), str(params.get("DestinationArn", ""))
        kind = params.get("AssociationType")
        if kind is not None and kind not in ASSOCIATION_TYPES:
            raise _validation(f"AssociationType must be one of {', '.join(sorted(ASSOCIATION_TYPES))}, got {kind}")
        for arn in (source, destination):
            if arn not in entities:
                raise SageMakerApiError("ResourceNotFound", f"Entity '{arn}' does not exist.")
        if any(a.source == source and a.destination == destination for a in associations):
            raise _validation(f"Association between {source} and {destination} already exists.")
        associations.append(_Association(source, destination, kind, datetime.now(UTC)))
        return {"SourceArn": source, "DestinationArn": destination}

    def _list_associations(
        self, entities: dict[str, _Entity], associations: list[_Association], params: dict[str, Any]
    ) -> dict[str, Any]:
        summaries = []
        for association in associations:
            if params.get("SourceArn") not in (None, association.source):
                continue
            if params.get("DestinationArn") not in (None, association.destination):
                continue
            if params.get("AssociationType") not in (None, association.association_type):
                continue
            source, destination = entities[association.source], entities[association.destination]
            summary: dict[str, Any] = {
                "SourceArn": source.arn,
                "DestinationArn": destination.arn,
                "SourceType": source.entity_type,
                "DestinationType": destination.entity_type,
                "CreationTime": association.created.timestamp(),
            }
            if association.association_type:
                summary["AssociationType"] = association.association_type
            if source.name:
                summary["SourceName"] = source.name
            if destination.name:
                summary["DestinationName"] = destination.name
            summaries.append(summary)
        return {"AssociationSummaries": summaries}

    def _arn(self, region: str, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{region}:{self._account}:{kind}/{name}"


def _validation(message: str) -> SageMakerApiError:
    return SageMakerApiError("ValidationException", message)


def lineage_snapshot(store: LineageStore) -> dict[str, Any]:
    """Every region's entities and associations as JSON-ready data (the local runtime's state directory)."""
    with store._lock:
        return {
            region: {
                "entities": [
                    {**vars(entity), "created": entity.created.isoformat()} for entity in list(entities.values())
                ],
                "associations": [
                    {**vars(a), "created": a.created.isoformat()} for a in store._associations.get(region, [])
                ],
            }
            for region, entities in store._entities.items()
        }


def load_lineage(store: LineageStore, snapshot: dict[str, Any]) -> int:
    """Put back what lineage_snapshot saved, replacing the store's content; how many entities."""
    with store._lock:
        store._entities.clear()
        store._associations.clear()
        for region, saved in snapshot.items():
            store._entities[region] = {
                entity["arn"]: _Entity(**{**entity, "created": datetime.fromisoformat(entity["created"])})
                for entity in saved["entities"]
            }
            store._associations[region] = [
                _Association(**{**a, "created": datetime.fromisoformat(a["created"])}) for a in saved["associations"]
            ]
        return sum(len(entities) for entities in store._entities.values())
