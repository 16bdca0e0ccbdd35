"""SSM parameters (every version, labels and tags) and Secrets Manager secrets (every version and its stages) in
the state directory. AWS's public parameters (`/aws/...`, which moto loads on demand) are not kept.

Not kept: secret replicas (their regions'), rotation schedules' runs (rotation does not run locally anyway).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from moto.secretsmanager.models import FakeSecret, secretsmanager_backends
from moto.ssm.models import Parameter, ssm_backends

from local_runtime.state_dir.codec import attributes, rebuild

_PUBLIC_PREFIX = "/aws/"


def save_parameters() -> list[dict[str, Any]]:
    saved = []
    for account, regions in list(ssm_backends.items()):
        for region, backend in list(regions.items()):
            # dict.items: the ParameterDict's own lookups load AWS's public parameters on demand.
            for name, versions in list(dict.items(backend._parameters)):
                if name.startswith(_PUBLIC_PREFIX) or not versions:
                    continue
                saved.append(
                    {
                        "account": account,
                        "region": region,
                        "name": name,
                        "versions": [attributes(version) for version in list(versions)],
                        "tags": dict(backend._resource_tags["Parameter"].get(name, {})),
                    }
                )
    return saved


def restore_parameters(saved: list[dict[str, Any]]) -> int:
    for entry in saved:
        backend = ssm_backends[entry["account"]][entry["region"]]
        # The saved value of a SecureString is already as moto keeps it: rebuilt, not encrypted again.
        dict.__setitem__(backend._parameters, entry["name"], [rebuild(Parameter, v) for v in entry["versions"]])
        if entry["tags"]:
            tags: defaultdict[str, dict[str, str]] = backend._resource_tags["Parameter"]
            tags[entry["name"]] = dict(entry["tags"])
    return len(saved)


def save_secrets() -> list[dict[str, Any]]:
    saved = []
    for account, regions in list(secretsmanager_backends.items()):
        for region, backend in list(regions.items()):
            for secret in list(dict.values(backend.secrets)):
                if isinstance(secret, FakeSecret):  # a replica is its source region's
                    saved.append({"account": account, "region": region, **attributes(secret, skip=_LIVE_SECRET)})
    return saved


def restore_secrets(saved: list[dict[str, Any]]) -> int:
    for entry in saved:
        record = {key: value for key, value in entry.items() if key not in ("account", "region")}
        backend = secretsmanager_backends[entry["account"]][entry["region"]]
        secret = rebuild(FakeSecret, record, replicas=[])
        dict.__setitem__(backend.secrets, secret.name, secret)
    return len(saved)


_LIVE_SECRET = frozenset({"replicas"})
