"""OVHcloud AI Training: submit, inspect, wait for, stop and delete jobs; read their logs."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar

from airflow_ovhcloud._http import base_url_from_connection, unexpected_answer
from airflow_ovhcloud.exceptions import (
    OVHCloudAIConfigurationError,
    OVHCloudAIError,
    OVHCloudAIInvalidInputError,
    OVHCloudAIPermanentError,
    OVHCloudAIRequestError,
)
from airflow_ovhcloud.get_provider_info import ui_field_behaviour
from airflow_ovhcloud.hooks.base import OVHCloudBaseHook, mask

#: Terminal states, as the service defines them.
SUCCESS_STATES = ("DONE",)
FAILURE_STATES = ("FAILED", "ERROR", "INTERRUPTED", "SYNC_FAILED")
TERMINAL_STATES = SUCCESS_STATES + FAILURE_STATES
VOLUME_PERMISSIONS = ("RO", "RW", "RWD")
#: How many polls in a row may fail with a retryable error before waiting gives up.
MAX_CONSECUTIVE_POLL_ERRORS = 3

_LABEL_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LOG_TIMESTAMP_RE = re.compile(r"^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\]?\s")


class OVHCloudAIJobFailedError(OVHCloudAIError):
    """The job reached a failure state; Airflow may retry the task (which reattaches or resubmits)."""

    def __init__(self, message: str, *, job: Mapping[str, Any] | None = None, state: str | None = None) -> None:
        super().__init__(message)
        self.job = job
        self.state = state


class OVHCloudAIJobTimeoutError(OVHCloudAIError):
    """Waiting for the job took longer than allowed; the job itself may still be running."""


class OVHCloudAITrainingHook(OVHCloudBaseHook):
    """Hook to interact with the OVHcloud AI Training API.

    The token comes from the connection's password. The region comes from the ``region``
    argument, else the connection's login, else its extra ``region``, else ``gra``; the
    connection's host, when set, replaces the region's base URL (a proxy, or the local emulator).

    :param ovh_conn_id: Airflow connection ID.
    :param region: ``gra`` or ``bhs`` (case-insensitive).
    :param timeout: request timeout in seconds; the connection extra ``timeout`` overrides it.
    :param max_retries: client-side retries (see :class:`OVHCloudAIEndpointsHook`).
    """

    REGIONS = {
        "gra": "https://gra.ai.cloud.ovh.net",
        "bhs": "https://bhs.ai.cloud.ovh.net",
    }
    DEFAULT_REGION = "gra"

    conn_name_attr = "ovh_conn_id"
    default_conn_name = "ovh_ai_training_default"
    conn_type = "ovhcloud_ai_training"
    hook_name = "OVHcloud AI Training"
    service_name: ClassVar[str] = "AI Training"
    token_name: ClassVar[str] = "AI Training token"
    #: Submitting is not idempotent: a lost answer must not lead to a second job (reattach handles it).
    unsafe_posts: ClassVar[frozenset[str]] = frozenset({"v1/job"})

    def __init__(
        self,
        ovh_conn_id: str = default_conn_name,
        region: str | None = None,
        timeout: int = 120,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(ovh_conn_id=ovh_conn_id, timeout=timeout, max_retries=max_retries, **kwargs)
        self._region_arg = self._check_region(region) if region else None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Form layout for Airflow versions that read it from the hook (3.1); 3.2+ read provider info."""
        return ui_field_behaviour(cls.conn_type)

    @classmethod
    def _check_region(cls, region: Any) -> str:
        normalised = str(region).strip().lower()
        if normalised not in cls.REGIONS:
            raise OVHCloudAIConfigurationError(f"Invalid region '{region}'. Valid regions are: {list(cls.REGIONS)}")
        return normalised

    @property
    def region(self) -> str:
        """The region in use: the hook argument, the connection login, extra ``region``, else ``gra``."""
        if self._region_arg:
            return self._region_arg
        candidate = self.connection.login or self.extra_value("region") or self.DEFAULT_REGION
        return self._check_region(candidate)

    def get_token(self) -> str:
        return self._token_from(
            self.connection.password,
            missing_message=(
                f"OVHcloud AI Training token not found in connection '{self.ovh_conn_id}'. Put an AI "
                "Training application token in the connection's password (create one with `ovhai token "
                "create` or in the OVHcloud Control Panel)."
            ),
        )

    def get_base_url(self) -> str:
        conn = self.connection
        return base_url_from_connection(
            conn.host, conn.port, conn.schema, default=self.REGIONS[self.region], strip_path="/v1"
        )

    def _job_hint(self, job_id: str) -> str:
        return (
            f"Job '{job_id}' was not found in region '{self.region}': check the job id and the region of "
            f"connection '{self.ovh_conn_id}' (jobs are listed with OVHCloudAITrainingHook().list_jobs())."
        )

    # ------------------------------------------------------------ static helpers

    @staticmethod
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

    @staticmethod
    def build_env_vars(env_dict: Mapping[str, str]) -> list[dict[str, str]]:
        """``{"NAME": "value"}`` → ``[{"name": "NAME", "value": "value"}]``, the service's shape."""
        if not isinstance(env_dict, Mapping):
            raise OVHCloudAIInvalidInputError(
                f"env_vars must be a dict of names to string values, got {type(env_dict).__name__}."
            )
        return [{"name": str(name), "value": value} for name, value in env_dict.items()]

    # --------------------------------------------------------------------- jobs

    def submit_job(
        self,
        image: str,
        default_http_port: int | None = None,
        name: str | None = None,
        command: list[str] | None = None,
        env_vars: list[dict[str, str]] | Mapping[str, str] | None = None,
        gpu: int = 0,
        gpu_model: str | None = None,
        cpu: int | None = None,
        flavor: str | None = None,
        volumes: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None,
        ssh_public_keys: list[str] | None = None,
        timeout: int | None = None,
        timeout_auto_restart: bool | None = None,
        unsecure_http: bool = False,
        read_user: str | None = None,
        shutdown: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Submit a job and return it as the service answers (state ``QUEUED``).

        Resources: only what you ask for is sent. ``gpu=0`` (the default) sends no GPU count, so a
        GPU ``flavor`` alone is never contradicted by ``"gpu": 0``; with no ``gpu``, ``cpu`` or
        ``flavor`` at all, no ``resources`` are sent and OVHcloud's default resources apply.
        Extra keyword arguments are added to the JobSpec as given (use the API's camelCase names).
        """
        spec = build_job_spec(
            image=image,
            default_http_port=default_http_port,
            name=name,
            command=command,
            env_vars=env_vars,
            gpu=gpu,
            gpu_model=gpu_model,
            cpu=cpu,
            flavor=flavor,
            volumes=volumes,
            labels=labels,
            ssh_public_keys=ssh_public_keys,
            timeout=timeout,
            timeout_auto_restart=timeout_auto_restart,
            unsecure_http=unsecure_http,
            read_user=read_user,
            shutdown=shutdown,
            extra=kwargs,
        )
        for env in spec.get("envVars", ()):
            mask(env["value"])
        job = self._job_response(self.http.request_json("POST", "v1/job", json_body=spec), "submit")
        self.log.info(
            "Submitted AI Training job %s (%s) in region %s: %s",
            job.get("id"),
            spec.get("name") or spec["image"],
            self.region,
            job_state(job) or "state unknown",
        )
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        """Return the job as the service describes it now."""
        job_id = _check_job_id(job_id)
        return self._job_response(
            self.http.request_json("GET", f"v1/job/{job_id}", not_found_hint=self._job_hint(job_id)), "get"
        )

    def get_job_status(self, job_id: str) -> str:
        """Return the job's ``status.state`` (e.g. ``RUNNING``)."""
        state = job_state(self.get_job(job_id))
        if not state:
            raise _unexpected("job", "no status.state in the answer")
        return state

    def list_jobs(
        self,
        page: int = 1,
        size: int = 100,
        state: str | Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """List jobs, filtered by state(s) and labels; always ``{"items": [...], "metadata": {...}}``."""
        params: list[tuple[str, Any]] = [("page", _int("page", page)), ("size", _int("size", size))]
        states = [state] if isinstance(state, str) else list(state or ())
        params += [("statusState", str(s).upper()) for s in states]
        if labels:
            _check_labels(labels)
            params.append(("labelSelector", ",".join(f"{key}={value}" for key, value in labels.items())))
        answer = self.http.request_json("GET", "v1/job", params=params)
        if isinstance(answer, list):
            return {"items": answer, "metadata": {"page": page, "size": size, "total": len(answer)}}
        if isinstance(answer, dict) and isinstance(answer.get("items"), list):
            return answer
        raise _unexpected("job list", answer)

    def stop_job(self, job_id: str) -> dict[str, Any]:
        """Ask the service to stop (kill) a job; it then goes INTERRUPTING → INTERRUPTED."""
        job_id = _check_job_id(job_id)
        self.http.request("PUT", f"v1/job/{job_id}/kill", not_found_hint=self._job_hint(job_id)).close()
        self.log.info("Asked AI Training to stop job %s.", job_id)
        return {"id": job_id, "stopped": True}

    def delete_job(self, job_id: str) -> dict[str, Any]:
        """Delete a job (the service refuses a running one: stop it first)."""
        job_id = _check_job_id(job_id)
        self.http.request("DELETE", f"v1/job/{job_id}", not_found_hint=self._job_hint(job_id)).close()
        self.log.info("Deleted AI Training job %s.", job_id)
        return {"id": job_id, "deleted": True}

    def get_job_logs(self, job_id: str, since: str | datetime | None = None, tail: int | None = None) -> str:
        """Return the job's log as text.

        ``tail`` is sent to the service. ``since`` (an ISO-8601 string or a datetime) is applied
        here, to lines that start with a timestamp; lines without one are kept, since their time
        is unknown.
        """
        job_id = _check_job_id(job_id)
        params = {"tail": _int("tail", tail)} if tail is not None else None
        text = self.http.request_text(
            "GET", f"v1/job/{job_id}/log", params=params, not_found_hint=self._job_hint(job_id)
        )
        return filter_log_since(text, since) if since is not None else text

    def wait_for_job(
        self,
        job_id: str,
        target_states: list[str] | None = None,
        failure_states: list[str] | None = None,
        check_interval: int = 30,
        timeout: int = 3600,
    ) -> dict[str, Any]:
        """Poll until the job reaches a target state and return it; raise on a failure state or timeout.

        Default failure states are FAILED, ERROR, INTERRUPTED and SYNC_FAILED (the last one, a job
        whose outputs could not be synced back, is missing from OVHcloud's own provider). Up to
        three polls in a row may fail with a retryable error before waiting gives up.
        """
        watch = JobWatch(
            _check_job_id(job_id),
            target_states=target_states,
            failure_states=failure_states,
            check_interval=check_interval,
            timeout=timeout,
            log=self.log,
        )
        while True:
            try:
                job = self.get_job(watch.job_id)
            except OVHCloudAIPermanentError:
                raise
            except OVHCloudAIRequestError as exc:
                watch.failed_poll(exc)
            else:
                if watch.finished(job):
                    return job
            time.sleep(watch.next_wait())

    def test_connection(self) -> tuple[bool, str]:
        """List one job (an authenticated call); never raises. Powers the UI's Test button."""
        try:
            page = self.list_jobs(page=1, size=1)
        except Exception as exc:
            return False, str(exc)
        total = page.get("metadata", {}).get("total")
        count = f"{total} jobs" if total is not None else "jobs listed"
        return True, f"Connected to OVHcloud AI Training in region {self.region} at {self.get_base_url()}: {count}."

    @staticmethod
    def _job_response(answer: Any, what: str) -> dict[str, Any]:
        if not isinstance(answer, dict) or not answer.get("id"):
            raise _unexpected(f"job {what}", answer)
        return answer


# --------------------------------------------------------------------------- helpers


def job_state(job: Mapping[str, Any]) -> str | None:
    status = job.get("status")
    state = status.get("state") if isinstance(status, Mapping) else None
    return str(state).upper() if state else None


def job_info_message(job: Mapping[str, Any]) -> str | None:
    status = job.get("status")
    info = status.get("info") if isinstance(status, Mapping) else None
    message = info.get("message") if isinstance(info, Mapping) else None
    return str(message) if message else None


class JobWatch:
    """The bookkeeping of waiting for a job, shared by ``wait_for_job`` and the deferrable trigger.

    It logs each state change once, tolerates a few failed polls in a row, raises the documented
    failure and timeout errors, and never sleeps past the deadline. ``clock`` is monotonic for a
    blocking wait; the trigger passes wall-clock time and a ``deadline`` that survives a restart.
    """

    def __init__(
        self,
        job_id: str,
        *,
        target_states: Sequence[str] | None = None,
        failure_states: Sequence[str] | None = None,
        check_interval: float = 30,
        timeout: float = 3600,
        log: Any = None,
        clock: Any = None,
        deadline: float | None = None,
    ) -> None:
        self.job_id = job_id
        self.targets = frozenset(s.upper() for s in (target_states or SUCCESS_STATES))
        self.failures = frozenset(s.upper() for s in (failure_states or FAILURE_STATES))
        self.check_interval = check_interval
        self.timeout = timeout
        self.log = log
        # Looked up at each call, not bound at import, so freezegun-driven tests can move the clock.
        self.clock = clock or (lambda: time.monotonic())
        self.deadline = deadline if deadline is not None else self.clock() + timeout
        self.last_state: str | None = None
        self.errors = 0

    def finished(self, job: Mapping[str, Any]) -> bool:
        """True when the job reached a target state; raises when it reached a failure state."""
        self.errors = 0
        state = job_state(job)
        if state != self.last_state:
            if self.log is not None:
                self.log.info("AI Training job %s is %s.", self.job_id, state)
            self.last_state = state
        verdict = job_verdict(job, self.targets, self.failures)
        if verdict == "failure":
            raise job_failed_error(self.job_id, job)
        return verdict == "success"

    def failed_poll(self, exc: Exception) -> None:
        """Count a retryable polling error; re-raise it once too many came in a row."""
        self.errors += 1
        if self.errors >= MAX_CONSECUTIVE_POLL_ERRORS:
            raise exc
        if self.log is not None:
            self.log.warning(
                "Polling AI Training job %s failed (%d in a row), will retry: %s", self.job_id, self.errors, exc
            )

    def next_wait(self) -> float:
        """Seconds to sleep before the next poll; raises the timeout error once the deadline passed."""
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise OVHCloudAIJobTimeoutError(
                f"Timeout waiting for AI Training job {self.job_id} after {self.timeout} s (last state: "
                f"{self.last_state}). The job may still be running: stop it or wait longer."
            )
        return float(min(self.check_interval, remaining))


def job_verdict(job: Mapping[str, Any], targets: set[str] | frozenset[str], failures: set[str] | frozenset[str]) -> str:
    """``success``, ``failure`` or ``running``: shared by the blocking wait and the trigger."""
    state = job_state(job)
    if state in targets:
        return "success"
    if state in failures:
        return "failure"
    return "running"


def job_failed_error(job_id: str, job: Mapping[str, Any]) -> OVHCloudAIJobFailedError:
    state = job_state(job)
    message = f"AI Training job {job_id} entered failure state: {state}"
    info = job_info_message(job)
    exit_code = job.get("status", {}).get("exitCode") if isinstance(job.get("status"), Mapping) else None
    if info:
        message += f" ({info})"
    if exit_code not in (None, 0):
        message += f", exit code {exit_code}"
    return OVHCloudAIJobFailedError(message + ".", job=job, state=state)


def filter_log_since(text: str, since: str | datetime) -> str:
    """Keep the log lines stamped at or after ``since`` (and every line without a timestamp)."""
    threshold = _parse_time(since)
    if threshold is None:
        raise OVHCloudAIInvalidInputError(f"since={since!r} is not an ISO-8601 date-time.")
    kept = []
    for line in text.splitlines(keepends=True):
        match = _LOG_TIMESTAMP_RE.match(line)
        stamp = _parse_time(match.group(1)) if match else None
        if stamp is None or stamp >= threshold:
            kept.append(line)
    return "".join(kept)


def _parse_time(value: str | datetime) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _unexpected(what: str, value: Any) -> OVHCloudAIRequestError:
    return unexpected_answer("AI Training", what, value, "the AI Training API")


def _check_job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not job_id.strip() or "/" in job_id:
        raise OVHCloudAIInvalidInputError(f"Invalid AI Training job id {job_id!r}: expected the job's UUID.")
    return job_id.strip()


def _int(name: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OVHCloudAIInvalidInputError(f"{name} must be an integer ≥ {minimum}, got {value!r}.")
    return value


def _check_labels(labels: Any) -> dict[str, str]:
    if not isinstance(labels, Mapping):
        raise OVHCloudAIInvalidInputError(f"labels must be a dict of strings, got {type(labels).__name__}.")
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_RE.match(key):
            raise OVHCloudAIInvalidInputError(
                f"Invalid label key {key!r}: use at most 63 letters, digits, '-', '_' or '.', starting and "
                "ending with a letter or digit (prefixed keys such as 'ovh/...' belong to the platform)."
            )
        if not isinstance(value, str) or (value and not _LABEL_RE.match(value)):
            raise OVHCloudAIInvalidInputError(
                f"Invalid value {value!r} for label {key!r}: use a string of at most 63 letters, digits, '-', "
                "'_' or '.', starting and ending with a letter or digit."
            )
    return dict(labels)


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


def build_job_spec(
    *,
    image: Any,
    default_http_port: Any = None,
    name: Any = None,
    command: Any = None,
    env_vars: Any = None,
    gpu: Any = 0,
    gpu_model: Any = None,
    cpu: Any = None,
    flavor: Any = None,
    volumes: Any = None,
    labels: Any = None,
    ssh_public_keys: Any = None,
    timeout: Any = None,
    timeout_auto_restart: Any = None,
    unsecure_http: Any = False,
    read_user: Any = None,
    shutdown: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate the documented arguments and map them to the service's camelCase JobSpec."""
    if not isinstance(image, str) or not image.strip():
        raise OVHCloudAIInvalidInputError(
            f"An AI Training job needs a Docker image, e.g. image='pytorch/pytorch:latest'; got {image!r}."
        )
    spec: dict[str, Any] = {"image": image.strip()}
    if name is not None:
        spec["name"] = str(name)
    if command is not None:
        if (
            isinstance(command, str)
            or not isinstance(command, Sequence)
            or not all(isinstance(part, str) for part in command)
        ):
            raise OVHCloudAIInvalidInputError(
                f"command must be a list of strings, e.g. ['python', 'train.py'], got {command!r}."
            )
        spec["command"] = list(command)
    if env_vars is not None:
        pairs = OVHCloudAITrainingHook.build_env_vars(env_vars) if isinstance(env_vars, Mapping) else env_vars
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
        if checked:
            spec["envVars"] = checked
    resources: dict[str, Any] = {}
    gpu_count = _int("gpu", gpu if gpu is not None else 0)
    if gpu_count:
        resources["gpu"] = gpu_count
    if cpu is not None:
        cpu_count = _int("cpu", cpu)
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
    if resources:
        spec["resources"] = resources
    if volumes:
        if isinstance(volumes, Mapping) or not isinstance(volumes, Sequence):
            raise OVHCloudAIInvalidInputError("volumes must be a list of volume dicts.")
        spec["volumes"] = [_check_volume(i, v) for i, v in enumerate(volumes)]
    if labels:
        spec["labels"] = _check_labels(labels)
    if ssh_public_keys:
        if isinstance(ssh_public_keys, str) or not all(isinstance(k, str) for k in ssh_public_keys):
            raise OVHCloudAIInvalidInputError("ssh_public_keys must be a list of public key strings.")
        spec["sshPublicKeys"] = list(ssh_public_keys)
    if default_http_port is not None:
        spec["defaultHttpPort"] = _int("default_http_port", default_http_port, minimum=1)
    if timeout is not None:
        spec["timeout"] = _int("timeout", timeout, minimum=1)
    if timeout_auto_restart is not None:
        spec["timeoutAutoRestart"] = bool(timeout_auto_restart)
    if unsecure_http:
        spec["unsecureHttp"] = True
    if read_user is not None:
        spec["readUser"] = read_user
    if shutdown is not None:
        spec["shutdown"] = shutdown
    for key, value in (extra or {}).items():
        if value is not None:
            spec[key] = value
    return spec


def redact_job(job: Any) -> Any:
    """A copy of a job whose ``spec.envVars`` values are replaced by ``***`` (names kept): XCom-safe."""
    if not isinstance(job, Mapping):
        return job
    redacted = dict(job)
    spec = job.get("spec")
    if isinstance(spec, Mapping) and isinstance(spec.get("envVars"), list):
        redacted["spec"] = {
            **spec,
            "envVars": [{**env, "value": "***"} if isinstance(env, Mapping) else env for env in spec["envVars"]],
        }
    return redacted
