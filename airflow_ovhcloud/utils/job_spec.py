"""The AI Training job spec, defined once.

:class:`JobSpec` lists every field the provider knows, with its validation and its camelCase
name on the wire. The hook's ``submit_job``, the submit operator, ``@task.ovh_training`` and the
docs all derive from it (a test checks each layer against :func:`spec_fields`), so adding a field
is a change here plus one keyword argument in the operator, which templating needs spelled out.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError
from airflow_ovhcloud.utils.validation import check_int, check_str, check_str_list, shown

VOLUME_PERMISSIONS = ("RO", "RW", "RWD")
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _spec(
    wire: str,
    doc: str,
    *,
    default: Any = None,
    operator: str | None = None,
    templated: bool = False,
) -> Any:
    """A spec field: ``wire`` is its path in the service's JobSpec (``resources.gpu``)."""
    return field(default=default, metadata={"wire": wire, "doc": doc, "operator": operator, "templated": templated})


@dataclass(frozen=True)
class SpecField:
    """One field of :class:`JobSpec` as each layer names it."""

    name: str  #: the hook's argument and the dataclass field
    operator_name: str  #: the operator's and the decorator's argument (``timeout`` is ``job_timeout`` there)
    wire: str  #: where it goes in the JSON the service receives
    doc: str
    templated: bool
    default: Any


@dataclass(frozen=True)
class JobSpec:
    """An AI Training job, checked when built; :meth:`to_api` gives the JSON body of ``POST /v1/job``.

    Only what is set is sent: ``gpu=0`` sends no GPU count (a GPU ``flavor`` alone is never
    contradicted by ``"gpu": 0``) and with no resources at all OVHcloud's defaults apply.
    ``extra`` holds JobSpec keys this class does not know, sent as given (camelCase).
    """

    image: str = _spec("image", "Docker image to run, e.g. ``pytorch/pytorch:latest``.", default="", templated=True)
    name: str | None = _spec("name", "Job name shown in the console.", templated=True)
    command: list[str] | None = _spec("command", "Command and arguments, as a list of strings.", templated=True)
    env_vars: Mapping[str, str] | Sequence[Mapping[str, str]] | None = _spec(
        "envVars",
        "Environment variables: ``{name: value}`` (or the service's ``[{name, value}]``); values are secrets.",
        templated=True,
    )
    gpu: int = _spec("resources.gpu", "Number of GPUs; 0 sends none.", default=0)
    gpu_model: str | None = _spec("resources.gpuModel", "GPU model, e.g. ``V100S``.", templated=True)
    cpu: int | None = _spec("resources.cpu", "Number of CPUs (for a CPU job).")
    flavor: str | None = _spec("resources.flavor", "Flavor id, e.g. ``ai1-1-gpu``.", templated=True)
    volumes: list[dict[str, Any]] | None = _spec(
        "volumes", "Volumes, each built with ``OVHCloudAITrainingHook.build_volume``.", templated=True
    )
    labels: Mapping[str, str] | None = _spec("labels", "Labels (``{key: value}``).", templated=True)
    ssh_public_keys: list[str] | None = _spec("sshPublicKeys", "SSH public keys allowed into the job.")
    default_http_port: int | None = _spec("defaultHttpPort", "Port the job's URL forwards to.")
    timeout: int | None = _spec("timeout", "The job's own time limit in seconds.", operator="job_timeout")
    timeout_auto_restart: bool | None = _spec("timeoutAutoRestart", "Restart the job when its timeout is reached.")
    unsecure_http: bool = _spec("unsecureHttp", "Serve the job's URL without authentication.", default=False)
    read_user: str | None = _spec("readUser", "User allowed to read the job (unverified on the service).")
    shutdown: str | None = _spec("shutdown", "Shutdown policy (unverified on the service).")
    extra: Mapping[str, Any] | None = field(default=None, metadata={"wire": None})

    def __post_init__(self) -> None:
        self.to_api()  # a spec that cannot be sent is refused when built, not when submitted

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None) -> JobSpec:
        """Build from a mapping of operator or hook argument names (``job_timeout`` or ``timeout``)."""
        by_name = {f.operator_name: f.name for f in spec_fields()} | {f.name: f.name for f in spec_fields()}
        unknown = sorted(set(fields) - set(by_name))
        if unknown:
            raise OVHCloudAIInvalidInputError(
                f"Unknown AI Training job-spec fields {unknown}; valid fields are {spec_field_names()}."
            )
        return cls(**{by_name[key]: value for key, value in fields.items()}, extra=extra)

    def env_values(self) -> list[str]:
        """The environment values, which callers register as secrets before anything logs them."""
        return [env["value"] for env in self.to_api().get("envVars", ()) if env["value"]]

    def to_api(self) -> dict[str, Any]:
        """The service's camelCase JobSpec; raises :class:`OVHCloudAIInvalidInputError` on a bad field."""
        image = self.image
        if not isinstance(image, str) or not image.strip():
            raise OVHCloudAIInvalidInputError(
                f"An AI Training job needs a Docker image, e.g. image='pytorch/pytorch:latest'; got {shown(image)}."
            )
        values: dict[str, Any] = {
            "image": image.strip(),
            "name": None if self.name is None else str(self.name),
            "command": _command(self.command),
            "envVars": _env_vars(self.env_vars),
            "resources": _resources(self.gpu, self.cpu, self.gpu_model, self.flavor),
            "volumes": _volumes(self.volumes) if self.volumes else None,
            "labels": check_labels(self.labels) if self.labels else None,
            "sshPublicKeys": _ssh_keys(self.ssh_public_keys),
            "defaultHttpPort": _opt_int("default_http_port", self.default_http_port, minimum=1),
            "timeout": _opt_int("timeout (the job's own limit, job_timeout in operators)", self.timeout, minimum=1),
            "timeoutAutoRestart": None if self.timeout_auto_restart is None else bool(self.timeout_auto_restart),
            "unsecureHttp": True if self.unsecure_http else None,
            "readUser": check_str("read_user", self.read_user, allow_none=True, allow_empty=True),
            "shutdown": check_str("shutdown", self.shutdown, allow_none=True, allow_empty=True),
        }
        spec = {key: value for key, value in values.items() if value is not None}
        for key, value in (self.extra or {}).items():
            if value is not None:
                spec[key] = value
        return spec


def spec_fields() -> tuple[SpecField, ...]:
    """Every job-spec field, in declaration order (``extra`` excluded)."""
    return tuple(
        SpecField(
            name=f.name,
            operator_name=f.metadata["operator"] or f.name,
            wire=f.metadata["wire"],
            doc=f.metadata["doc"],
            templated=f.metadata["templated"],
            default=f.default,
        )
        for f in dataclasses.fields(JobSpec)
        if f.metadata.get("wire")
    )


def spec_field_names() -> list[str]:
    """The names a user writes in an operator, a decorator or a returned spec dict."""
    return [f.operator_name for f in spec_fields()]


# --------------------------------------------------------------------------- validators


def _opt_int(name: str, value: Any, *, minimum: int) -> int | None:
    return None if value is None else int(check_int(name, value, minimum=minimum))


def check_labels(labels: Any) -> dict[str, str]:
    """Label keys and values in the shape the service accepts."""
    if not isinstance(labels, Mapping):
        raise OVHCloudAIInvalidInputError(f"labels must be a dict of strings, got {type(labels).__name__}.")
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_RE.match(key):
            raise OVHCloudAIInvalidInputError(
                f"Invalid label key {shown(key)}: use at most 63 letters, digits, '-', '_' or '.', starting and "
                "ending with a letter or digit (prefixed keys such as 'ovh/...' belong to the platform)."
            )
        if not isinstance(value, str) or (value and not _LABEL_RE.match(value)):
            raise OVHCloudAIInvalidInputError(
                f"Invalid value {shown(value)} for label {key!r}: use a string of at most 63 letters, digits, '-', "
                "'_' or '.', starting and ending with a letter or digit."
            )
    return dict(labels)


def _command(command: Any) -> list[str] | None:
    if command is None:
        return None
    if isinstance(command, str) or not isinstance(command, Sequence) or not all(isinstance(p, str) for p in command):
        raise OVHCloudAIInvalidInputError(
            f"command must be a list of strings, e.g. ['python', 'train.py'], got {shown(command)}."
        )
    return list(command)


def build_env_vars(env_dict: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"NAME": "value"}`` → ``[{"name": "NAME", "value": "value"}]``, the service's shape."""
    if not isinstance(env_dict, Mapping):
        raise OVHCloudAIInvalidInputError(
            f"env_vars must be a dict of names to string values, got {type(env_dict).__name__}."
        )
    return [{"name": str(name), "value": value} for name, value in env_dict.items()]


def _env_vars(env_vars: Any) -> list[dict[str, str]] | None:
    if env_vars is None:
        return None
    pairs = build_env_vars(env_vars) if isinstance(env_vars, Mapping) else env_vars
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence):
        raise OVHCloudAIInvalidInputError("env_vars must be a dict of names to string values.")
    checked = []
    for pair in pairs:
        if not isinstance(pair, Mapping) or not isinstance(pair.get("name"), str) or not pair.get("name"):
            raise OVHCloudAIInvalidInputError("env_vars entries must be {'name': ..., 'value': ...} with a name.")
        if not isinstance(pair.get("value"), str):
            raise OVHCloudAIInvalidInputError(
                f"The value of environment variable {pair['name']!r} must be a string, "
                f"got {type(pair.get('value')).__name__}."
            )
        checked.append({"name": pair["name"], "value": pair["value"]})
    return checked or None


def _ssh_keys(keys: Any) -> list[str] | None:
    checked: list[str] | None = check_str_list("ssh_public_keys", keys, allow_none=True, non_empty_items=True)
    return checked or None


def _resources(gpu: Any, cpu: Any, gpu_model: Any, flavor: Any) -> dict[str, Any] | None:
    resources: dict[str, Any] = {}
    gpu_count = check_int("gpu", gpu if gpu is not None else 0)
    if gpu_count:
        resources["gpu"] = gpu_count
    if cpu is not None:
        cpu_count = check_int("cpu", cpu)
        if cpu_count and gpu_count:
            raise OVHCloudAIInvalidInputError(
                f"Ask for either GPUs or CPUs, not both (gpu={gpu_count}, cpu={cpu_count}): CPU counts follow "
                "from the GPU count on GPU jobs."
            )
        if cpu_count:
            resources["cpu"] = cpu_count
    if gpu_model:
        resources["gpuModel"] = str(gpu_model)
    if flavor:
        resources["flavor"] = str(flavor)
    return resources or None


def build_volume(
    container: str,
    mount_path: str,
    alias: str,
    prefix: str | None = None,
    permission: str = "RO",
    cache: bool = False,
) -> dict[str, Any]:
    """An Object Storage volume in the service's shape (``dataStore`` sits on the volume itself)."""
    permission = str(permission).upper()
    if permission not in VOLUME_PERMISSIONS:
        raise OVHCloudAIInvalidInputError(
            f"Invalid volume permission '{permission}' for {mount_path}: use one of {list(VOLUME_PERMISSIONS)}."
        )
    data_store: dict[str, Any] = {"alias": alias, "container": container}
    if prefix:
        data_store["prefix"] = prefix
    return {"mountPath": mount_path, "permission": permission, "cache": bool(cache), "dataStore": data_store}


def _volumes(volumes: Any) -> list[dict[str, Any]]:
    if isinstance(volumes, Mapping) or not isinstance(volumes, Sequence):
        raise OVHCloudAIInvalidInputError("volumes must be a list of volume dicts.")
    return [_check_volume(i, v) for i, v in enumerate(volumes)]


def _check_volume(index: int, volume: Any) -> dict[str, Any]:
    if not isinstance(volume, Mapping):
        raise OVHCloudAIInvalidInputError(
            f"volumes[{index}] must be a dict (build one with OVHCloudAITrainingHook.build_volume), "
            f"got {type(volume).__name__}."
        )
    if "volumeSource" in volume:
        raise OVHCloudAIInvalidInputError(
            f"volumes[{index}] wraps its source in 'volumeSource', which the service does not accept: put "
            "'dataStore' (or 'publicGit'...) directly on the volume, as build_volume() does."
        )
    if not volume.get("mountPath"):
        raise OVHCloudAIInvalidInputError(f"volumes[{index}] has no 'mountPath'.")
    permission = volume.get("permission", "RO")
    if str(permission).upper() not in VOLUME_PERMISSIONS:
        raise OVHCloudAIInvalidInputError(
            f"Invalid volume permission '{permission}' in volumes[{index}]: use one of {list(VOLUME_PERMISSIONS)}."
        )
    return {**volume, "permission": str(permission).upper()}


def build_job_spec(*, extra: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """Validate hook-named fields and return the camelCase JobSpec (kept for callers of 0.1)."""
    return JobSpec(**fields, extra=extra).to_api()
