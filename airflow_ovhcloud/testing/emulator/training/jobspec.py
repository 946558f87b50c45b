"""AI Training's JobSpec rules: what a strict server rejects in a submitted job, and label rules.

Kept apart from the job state machine because it is a long list of pure checks on a JSON document,
written from the API's schema; ``null`` counts as absent and unknown top-level keys pass, as on the
real service. Every rejection is an :class:`~airflow_ovhcloud.testing.emulator.errors.InvalidRequest`
with code ``invalid_job_spec``.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_ovhcloud.testing.emulator.errors import InvalidRequest

_RESOURCE_INT_KEYS = ("cpu", "gpu", "gpuMemory", "memory", "ephemeralStorage", "publicNetwork", "privateNetwork")
_RESOURCE_STR_KEYS = ("gpuModel", "gpuBrand", "flavor")
_VOLUME_SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone", "privateSwift")
# Where a volume's outputs go, besides its source (the generated client's Volume has both).
_VOLUME_TARGETS = ("targetDataStore", "targetPrivateSwift")
_VOLUME_PERMISSIONS = ("RO", "RW", "RWD")
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_LABEL_MAX = 63


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def bad_spec(message: str) -> InvalidRequest:
    return InvalidRequest(message, "invalid_job_spec")


def check_label(key: Any, value: Any, where: str) -> None:
    """Kubernetes label rules; keys under ``ovh/`` belong to the platform."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise bad_spec(f"{where}: label keys and values must be strings")
    if key.startswith("ovh/"):
        raise bad_spec(f"{where}: label key {key!r} is reserved: keys beginning with 'ovh/' belong to the platform")
    if len(key) > _LABEL_MAX or not _LABEL_RE.fullmatch(key):
        raise bad_spec(
            f"{where}: invalid label key {key!r}: 1 to 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit"
        )
    if value and (len(value) > _LABEL_MAX or not _LABEL_RE.fullmatch(value)):
        raise bad_spec(
            f"{where}: invalid label value {value!r} for key {key!r}: empty, or at most 63 letters, digits, "
            "'-', '_' or '.', beginning and ending with a letter or digit"
        )


def _check_str_list(value: Any, field_name: str) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_spec(f"'{field_name}' must be a list of strings")


def _check_resources(resources: Any) -> None:
    if not isinstance(resources, dict):
        raise bad_spec("'resources' must be an object")
    known = (*_RESOURCE_INT_KEYS, *_RESOURCE_STR_KEYS)
    for key, value in resources.items():
        if key not in known:
            raise bad_spec(f"resources: unknown field {key}; known fields: {', '.join(known)}")
        if value is None:
            continue
        if key in _RESOURCE_INT_KEYS and (not is_int(value) or value < 0):
            raise bad_spec(f"resources.{key} must be a non-negative integer, not {value!r}")
        if key in _RESOURCE_STR_KEYS and (not isinstance(value, str) or not value):
            raise bad_spec(f"resources.{key} must be a non-empty string, not {value!r}")
    gpu: int | None = resources.get("gpu")
    flavor = str(resources.get("flavor") or "").lower()
    if "gpu" in flavor and gpu == 0:
        raise bad_spec(
            f"resources: flavor {resources['flavor']!r} is a GPU flavor but gpu is 0; leave gpu out or set it >= 1"
        )
    if "cpu" in flavor and gpu:
        raise bad_spec(f"resources: flavor {resources['flavor']!r} is a CPU flavor but gpu is {gpu}")
    # cpu and gpu together: the generated client has no rule against it (unverified), so it passes.


def _check_data_store(body: Any, where: str) -> None:
    """``{"alias", "container", "prefix"?, "archive"?, "internal"?}`` (a source or a target)."""
    if not isinstance(body, dict):
        raise bad_spec(f"{where} must be an object")
    for key in body:
        if key not in ("alias", "container", "prefix", "archive", "internal"):
            raise bad_spec(f"{where}: unknown field {key}")
    for key in ("alias", "container"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise bad_spec(f"{where}.{key} is required: a non-empty string")
    if body.get("prefix") is not None and not isinstance(body["prefix"], str):
        raise bad_spec(f"{where}.prefix must be a string")
    # The guide calls ``archive`` a flag; the generated client types it as the archive's name: both pass.
    if body.get("archive") is not None and not isinstance(body["archive"], (str, bool)):
        raise bad_spec(f"{where}.archive must be an archive name (a string) or a boolean")
    if body.get("internal") is not None and not isinstance(body["internal"], bool):
        raise bad_spec(f"{where}.internal must be a boolean")


def _check_volume(volume: Any, index: int) -> None:
    where = f"volumes[{index}]"
    if not isinstance(volume, dict):
        raise bad_spec(f"{where} must be an object")
    for key in volume:
        if key not in ("mountPath", "permission", "cache", *_VOLUME_SOURCES, *_VOLUME_TARGETS):
            raise bad_spec(f"{where}: unknown field {key}")
    mount = volume.get("mountPath")
    if not isinstance(mount, str) or not mount.startswith("/"):
        raise bad_spec(f"{where}.mountPath is required: an absolute path such as '/workspace/data'")
    if volume.get("permission") not in _VOLUME_PERMISSIONS:
        raise bad_spec(f"{where}.permission must be one of RO, RW, RWD, not {volume.get('permission')!r}")
    if volume.get("cache") is not None and not isinstance(volume["cache"], bool):
        raise bad_spec(f"{where}.cache must be a boolean")
    sources = [key for key in _VOLUME_SOURCES if volume.get(key) is not None]
    if len(sources) != 1:
        raise bad_spec(
            f"{where} needs exactly one source among {', '.join(_VOLUME_SOURCES)}; "
            f"got {', '.join(sources) if sources else 'none'}"
        )
    [source] = sources
    body = volume[source]
    if not isinstance(body, dict):
        raise bad_spec(f"{where}.{source} must be an object")
    if source == "dataStore":
        _check_data_store(body, f"{where}.dataStore")
    elif source in ("publicGit", "publicSwift") and (not isinstance(body.get("url"), str) or not body["url"]):
        raise bad_spec(f"{where}.{source}.url is required: a non-empty string")
    if volume.get("targetDataStore") is not None:
        _check_data_store(volume["targetDataStore"], f"{where}.targetDataStore")
    if volume.get("targetPrivateSwift") is not None and not isinstance(volume["targetPrivateSwift"], dict):
        raise bad_spec(f"{where}.targetPrivateSwift must be an object")


def validate_job_spec(spec: Any) -> dict[str, Any]:
    """Reject what a strict AI Training server would; ``null`` counts as absent, unknown keys pass."""
    if not isinstance(spec, dict):
        raise bad_spec("The request body must be a JSON object (a JobSpec)")
    image = spec.get("image")
    if not isinstance(image, str) or not image.strip():
        raise bad_spec("'image' is required and must be a non-empty string")

    def given(key: str) -> bool:
        return spec.get(key) is not None

    if given("name") and not isinstance(spec["name"], str):
        raise bad_spec("'name' must be a string")
    if given("command"):
        _check_str_list(spec["command"], "command")
    if given("sshPublicKeys"):
        _check_str_list(spec["sshPublicKeys"], "sshPublicKeys")
    if given("envVars"):
        env = spec["envVars"]
        if not isinstance(env, list):
            raise bad_spec('\'envVars\' must be a list of {"name": str, "value": str}')
        for index, item in enumerate(env):
            if (
                not isinstance(item, dict)
                or set(item) != {"name", "value"}
                or not isinstance(item["name"], str)
                or not item["name"]
                or not isinstance(item["value"], str)
            ):
                raise bad_spec(f'envVars[{index}] must be {{"name": str, "value": str}}, not {item!r}')
    if given("labels"):
        labels = spec["labels"]
        if not isinstance(labels, dict):
            raise bad_spec("'labels' must be an object of string keys to string values")
        for key, value in labels.items():
            check_label(key, value, "labels")
    if given("resources"):
        _check_resources(spec["resources"])
    if given("volumes"):
        if not isinstance(spec["volumes"], list):
            raise bad_spec("'volumes' must be a list")
        for index, volume in enumerate(spec["volumes"]):
            _check_volume(volume, index)
    for key in ("defaultHttpPort", "grpcPort"):
        if given(key) and (not is_int(spec[key]) or not 1 <= spec[key] <= 65535):
            raise bad_spec(f"'{key}' must be an integer port (1-65535), not {spec[key]!r}")
    if given("timeout") and (not is_int(spec["timeout"]) or spec["timeout"] < 1):
        raise bad_spec(f"'timeout' must be a positive integer of seconds, not {spec['timeout']!r}")
    for key in ("timeoutAutoRestart", "unsecureHttp"):
        if given(key) and not isinstance(spec[key], bool):
            raise bad_spec(f"'{key}' must be a boolean, not {spec[key]!r}")
    return spec
