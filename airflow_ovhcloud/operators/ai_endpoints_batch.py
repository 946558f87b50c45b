"""The Batch API operator: many prompts as one OVHcloud batch, answers in input order.

Airflow glue around the hook's Batch API calls, built like the AI Training submit operator:

- **Waiting** in the worker or deferred to the triggerer (``deferrable``, default Airflow's
  ``[operators] default_deferrable``), where no worker slot is held.
- **Reattach, never duplicate**: the batch's ``metadata`` carries the run fingerprint (DAG, task,
  run, map index: the same for every try) and a digest of the input file. Before uploading, the
  operator looks for a recent batch with both and resumes waiting on it; on Airflow 3.3+ the batch
  id is also kept in the task state store (``ResumableJobMixin``). A batch that ended ``failed``,
  ``expired`` or ``cancelled``, or whose input differs (items changed since), is not reattached.
- **Cancel on kill**: a killed task cancels its batch (``on_kill`` in the worker; the trigger's on
  Airflow 3.3+) unless ``cancel_on_kill=False``.

Cheap to import: the hook, ``requests`` and the trigger are imported when a task runs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from contextlib import closing, suppress
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import conf

from airflow_ovhcloud._compat import ResumableJobMixin
from airflow_ovhcloud.constants import ENDPOINTS_CONN_ID
from airflow_ovhcloud.exceptions import OVHCloudAIError, OVHCloudAIPermanentError
from airflow_ovhcloud.operators.ai_endpoints import _EndpointsOperator, push_usage
from airflow_ovhcloud.utils.batch import (
    ACTIVE_STATES,
    CHAT_ENDPOINT,
    FAILURE_STATES,
    INPUT_METADATA,
    ITEMS_METADATA,
    PARTIAL_STATES,
    RUN_KEY_METADATA,
    SUCCESS_STATE,
    TERMINAL_STATES,
    XCOM_WARN_BYTES,
    BatchPlan,
    BatchResults,
    batch_counts,
    batch_failed_error,
    batch_of_event,
    batch_status,
    check_endpoint,
    describe_item_errors,
    jsonl_lines,
    manifest,
    result_lines,
    run_fingerprint,
    spool_lines,
)
from airflow_ovhcloud.utils.chat import check_chat_options, check_extra_body
from airflow_ovhcloud.utils.many import check_on_error, materialize
from airflow_ovhcloud.utils.validation import argument_errors, check_bool, check_number

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_ovhcloud.hooks.ai_endpoints import OVHCloudAIEndpointsHook

#: XCom keys besides the return value.
BATCH_ID_XCOM_KEY = "batch_id"
ERRORS_XCOM_KEY = "errors"
PARTIAL_XCOM_KEY = "partial_results"
#: Wait at most this long by default: the 24 h completion window and an hour to finalise.
DEFAULT_BATCH_TIMEOUT = 25 * 3600
#: The status ``get_job_status`` gives a stored batch whose input is not this try's items.
SUPERSEDED = "superseded"


def _default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class OVHCloudAIEndpointsBatchOperator(ResumableJobMixin, _EndpointsOperator):
    """Send every item as one request of one OVHcloud Batch API batch; return the answers in input order.

    :param items: the requests: each anything ``@task.ovh_chat`` accepts (a prompt, a list of
        message dicts, or a dict with ``messages``/``prompt`` and per-item overrides); with
        ``endpoint="/v1/embeddings"`` a text or ``{"input", "model"}`` (templated).
    :param model: the model of every item without its own (templated).
    :param system_prompt: put first in each chat item that has no system message (templated).
    :param response_format: an OpenAI ``response_format`` dict or a pydantic model class; with
        ``returns="answer"`` each answer is the parsed (and validated) JSON.
    :param temperature: a chat option of every item (so are ``max_tokens``, ``top_p``, ``stop``,
        ``tools`` and ``tool_choice``).
    :param extra_body: other request fields sent in every line as they are.
    :param returns: ``"response"`` (default) each item's whole response body, ``"answer"`` what
        ``@task.ovh_chat`` returns (the text, the parsed JSON or the tool-call message; for
        embeddings, the vector).
    :param endpoint: ``"/v1/chat/completions"`` (default) or ``"/v1/embeddings"`` (unverified).
    :param deferrable: wait in the triggerer (default: ``[operators] default_deferrable``).
    :param check_interval: seconds between two polls of the batch.
    :param timeout: seconds to wait for the batch (default 25 h: the 24 h window and finalising).
    :param on_error: ``"fail"`` (after the batch completes, fail naming every failed index with its
        error) or ``"skip"`` (``None`` at failed indices, errors to XCom ``errors``).
    :param cancel_on_kill: cancel the batch when the task is killed (default True).
    :param output_path: an ``ObjectStoragePath`` or URI (``s3://...``, ``file:///...``): results are
        written there as JSONL and the task returns a small manifest; a path ending in ``/`` is a
        folder, the file is named after the task, map index and run fingerprint (templated).

    XCom: ``usage`` (summed token usage), ``batch_id``, ``errors`` (with ``on_error="skip"``), and
    ``partial_results`` when an expired or cancelled batch is read without ``output_path``.
    """

    template_fields: Sequence[str] = ("model", "items", "system_prompt", "output_path")
    template_fields_renderers = {"items": "json"}
    external_id_key = "ovh_ai_batch_id"

    def __init__(
        self,
        *,
        items: Any,
        model: str | None = None,
        ovh_conn_id: str = ENDPOINTS_CONN_ID,
        system_prompt: str | None = None,
        response_format: dict[str, Any] | type | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: str | dict[str, Any] | None = None,
        extra_body: dict[str, Any] | None = None,
        returns: str = "response",
        endpoint: str = CHAT_ENDPOINT,
        deferrable: bool | None = None,
        check_interval: float = 30,
        timeout: float = DEFAULT_BATCH_TIMEOUT,
        on_error: str = "fail",
        cancel_on_kill: bool = True,
        output_path: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_chat_options(
            model=model,
            system_prompt=system_prompt,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            tools=tools,
            tool_choice=tool_choice,
            response_format=response_format,
            returns=returns,
        )
        with argument_errors():
            check_endpoint(endpoint)
            check_extra_body(extra_body)
            self.check_interval = check_number("check_interval", check_interval, minimum=0)
            self.timeout = check_number("timeout", timeout, minimum=0)
            check_bool("cancel_on_kill", cancel_on_kill)
            check_on_error(on_error)
        self.items = items
        self.model = model
        self.ovh_conn_id = ovh_conn_id
        self.system_prompt = system_prompt
        self.response_format = response_format
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.top_p = top_p
        self.stop = stop
        self.tools = tools
        self.tool_choice = tool_choice
        self.extra_body = extra_body
        self.returns = returns
        self.endpoint = endpoint
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.on_error = on_error
        self.cancel_on_kill = cancel_on_kill
        self.output_path = output_path
        self.batch_id: str | None = None
        self._plan: BatchPlan | None = None
        self._items: list[Any] | None = None
        #: Every item was read by the plan (so its ``overrides`` are complete).
        self._planned = False
        self._fingerprint = ""
        self._result: Any = None
        self._have_result = False
        #: This try's input file (a temporary file, gone when the task ends) and its digest.
        self._input: Any = None
        self._input_digest = ""

    # ------------------------------------------------------------------------------ preparing

    def plan(self) -> BatchPlan:
        """How items become request bodies (and how answers are read), from the (rendered) arguments."""
        if self._plan is None:
            options = {
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "top_p": self.top_p,
                "stop": self.stop,
                "tools": self.tools,
                "tool_choice": self.tool_choice,
                **(self.extra_body or {}),
            }
            if self.endpoint != CHAT_ENDPOINT:
                options = dict(self.extra_body or {})
            self._plan = BatchPlan(
                model=self.model,
                endpoint=self.endpoint,
                system_prompt=self.system_prompt,
                response_format=self.response_format,
                returns=self.returns,
                options=options,
                who=self._who,
            )
        return self._plan

    def _item_list(self) -> list[Any]:
        if self._items is None:
            self._items = materialize(self.items, f"{self._who}: items")
            if not self._items:
                from airflow_ovhcloud.exceptions import OVHCloudAIInvalidInputError

                raise OVHCloudAIInvalidInputError(f"{self._who}: items is empty: a batch needs at least one request.")
        return self._items

    def _read_every_item(self) -> None:
        """Check every item and learn how its answer is read, without building lines (a reattach)."""
        if self._planned:
            return
        plan = self.plan()
        for index, item in enumerate(self._item_list()):
            plan.body(index, item)
        self._planned = True

    def execute(self, context: Context) -> Any:
        self._fingerprint = run_fingerprint(context["ti"])
        self._item_list()
        try:
            return self.execute_resumable(context)
        finally:
            self._drop_input()

    def _drop_input(self) -> None:
        """Delete the input file once the batch is chosen (it may be hundreds of MB; a wait may last a day)."""
        if self._input is not None:
            self._input.close()  # an unnamed temporary file: gone, even if the worker is killed
            self._input = None

    def _spool(self) -> str:
        """Build the input file once (a temporary file the upload streams) and return its digest.

        Built before looking for an earlier try's batch: the digest tells a retry with the same
        items (reattach) from one whose items changed (a new batch).
        """
        if not self._input_digest:
            spool = tempfile.TemporaryFile(prefix="ovh-batch-")  # noqa: SIM115 - closed when execute ends
            try:
                self._input_digest = spool_lines(jsonl_lines(self.plan(), self._item_list(), self._fingerprint), spool)
            except BaseException:
                spool.close()
                raise
            self._input = spool
            self._planned = True  # every item was read
        return self._input_digest

    def _metadata(self, context: Context) -> dict[str, str]:
        ti = context["ti"]
        return {
            RUN_KEY_METADATA: self._fingerprint,
            ITEMS_METADATA: str(len(self._item_list())),
            INPUT_METADATA: self._spool(),
            "airflow_dag": str(ti.dag_id)[:128],
            "airflow_task": str(ti.task_id)[:128],
            "airflow_map_index": str(getattr(ti, "map_index", -1)),
        }

    def _track(self, context: Context, batch_id: str) -> None:
        self.batch_id = batch_id
        context["ti"].xcom_push(key=BATCH_ID_XCOM_KEY, value=batch_id)

    # ----------------------------------------------- ResumableJobMixin protocol (3.3+: the task state store)

    def submit_job(self, context: Context) -> str:
        """Reattach to this run's batch if one exists; else upload the JSONL and create the batch."""
        metadata = self._metadata(context)
        with closing(self.get_hook()) as hook:
            wanted = {key: metadata[key] for key in (RUN_KEY_METADATA, ITEMS_METADATA, INPUT_METADATA)}
            # A batch being cancelled (a killed try's) is not resumed: it will end cancelled.
            found = hook.find_batch(wanted, skip_states=(*FAILURE_STATES, "cancelling"))
            if found is not None:
                self.log.info(
                    "Reattaching to batch %s (%s) created by an earlier try of this task: nothing is uploaded again.",
                    found["id"],
                    found["status"],
                )
                self._read_every_item()
                self._track(context, found["id"])
                return str(found["id"])
            if self._input is None:  # dropped already (never so in the mixin's order): build it again
                self._input_digest = ""
                self._spool()
            uploaded = hook.upload_file(self._input, filename=f"{context['ti'].task_id}-{self._fingerprint}.jsonl")
            batch = hook.create_batch(uploaded["id"], self.endpoint, metadata=metadata)
        self._track(context, batch["id"])
        return str(batch["id"])

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """The stored batch's status, or :data:`SUPERSEDED` when it was made from other items."""
        with closing(self.get_hook()) as hook:
            batch = hook.get_batch(str(external_id))
        found = batch.get("metadata")
        digest = found.get(INPUT_METADATA) if isinstance(found, dict) else None
        if isinstance(digest, str) and digest != self._spool():
            self.log.info(
                "Batch %s of an earlier try was made from other items (they changed since): a new batch is made. "
                "The earlier one is left as it is (%s): cancel it with OVHCloudAIEndpointsHook().cancel_batch() "
                "if it still runs.",
                batch["id"],
                batch_status(batch),
            )
            return SUPERSEDED
        return batch_status(batch)

    def is_job_active(self, status: str) -> bool:
        return status in ACTIVE_STATES and status != "cancelling"

    def is_job_succeeded(self, status: str) -> bool:
        return status == SUCCESS_STATE

    # The mixin returns this value as the task's result when it reconnects to a running batch.
    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        self._drop_input()
        batch_id = str(external_id)
        if self.batch_id != batch_id:
            self._track(context, batch_id)
        self._read_every_item()
        with closing(self.get_hook()) as hook:
            if self.deferrable:
                from airflow_ovhcloud.triggers.ai_endpoints_batch import OVHCloudAIBatchTrigger

                trigger = OVHCloudAIBatchTrigger(
                    batch_id=batch_id,
                    ovh_conn_id=self.ovh_conn_id,
                    check_interval=self.check_interval,
                    timeout=self.timeout,
                    cancel_on_kill=self.cancel_on_kill,
                    carry={
                        "fingerprint": self._fingerprint,
                        "total": len(self._item_list()),
                        "overrides": self.plan().portable_overrides(),
                    },
                )
                batch = hook.get_batch(batch_id)
                if batch_status(batch) in TERMINAL_STATES:  # a status the API does not document: the trigger waits
                    return self._remember(self._finish(context, hook, batch))
                self.defer(trigger=trigger, method_name="execute_complete")
            batch = hook.wait_for_batch(batch_id, check_interval=self.check_interval, timeout=self.timeout)
            return self._remember(self._finish(context, hook, batch))

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        self._drop_input()
        if self._have_result:
            return self._result
        if self.batch_id != str(external_id):
            self._track(context, str(external_id))
        self._read_every_item()
        with closing(self.get_hook()) as hook:
            return self._remember(self._finish(context, hook, hook.get_batch(str(external_id))))

    def _remember(self, result: Any) -> Any:
        self._result, self._have_result = result, True
        return result

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Turn the trigger's event into the answers (read from the batch's files here) or its error.

        Runs on a fresh operator: the items are not needed again, only their number, the run
        fingerprint and how the answers of items with their own ``response_format`` are read.
        """
        batch = batch_of_event(event)
        carried = event.get("carry")
        carry: dict[str, Any] = carried if isinstance(carried, dict) else {}
        self._fingerprint = str(carry.get("fingerprint") or run_fingerprint(context["ti"]))
        total = carry.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            total = batch_counts(batch)["total"]
        self.plan().restore_overrides(carry.get("overrides"))
        self._planned = True
        self.batch_id = str(batch["id"])
        with closing(self.get_hook()) as hook:
            return self._finish(context, hook, batch, total=total)

    # ------------------------------------------------------------------------------ results

    def _finish(
        self, context: Context, hook: OVHCloudAIEndpointsHook, batch: dict[str, Any], total: int | None = None
    ) -> Any:
        """The task's result from a terminal batch, or the documented failure."""
        status = batch_status(batch)
        count = len(self._item_list()) if total is None else total
        if status == "failed":
            raise batch_failed_error(batch)
        plan = self.plan()
        results = hook.read_batch(batch, self._fingerprint, count, keep=plan.answer)
        results.batch = batch
        push_usage(context, results.usage)
        if status in PARTIAL_STATES:
            where = self._keep_partial(context, results)
            raise batch_failed_error(batch, where)
        for index in results.missing():
            results.errors[index] = "no answer: the batch completed without a line for this request in either file"
        if results.errors:
            message = describe_item_errors(results.errors, count)
            if self.on_error == "fail":
                raise OVHCloudAIPermanentError(
                    f"{self._who}: batch {batch['id']} completed, but {message}\nA retry would reattach to the same "
                    "completed batch: fix the failing items, or set on_error='skip' to keep the other answers."
                )
            context["ti"].xcom_push(key=ERRORS_XCOM_KEY, value={str(i): e for i, e in sorted(results.errors.items())})
            self.log.warning("%s", message)
        self.log.info(
            "Batch %s: %d answers, %d failed; usage %s.",
            batch["id"],
            len(results.results),
            len(results.errors),
            results.usage or "not reported",
        )
        if self.output_path is not None:
            return self._write(context, results, status)
        if results.size > XCOM_WARN_BYTES:
            self.log.warning(
                "%s: the answers weigh about %.1f MB, more than the %.0f MB that belong in Airflow's metadata "
                "database: pass output_path= (an object storage path) to write them there and keep only a manifest "
                "in XCom.",
                self._who,
                results.size / 1e6,
                XCOM_WARN_BYTES / 1e6,
            )
        return results.ordered()

    def _keep_partial(self, context: Context, results: BatchResults) -> str:
        """Keep what an expired or cancelled batch processed; return where, for the error message."""
        if self.output_path is not None:
            written = self._write(context, results, batch_status(results.batch or {}))
            return f"{len(results.results)} answers written to {written['path']}"
        context["ti"].xcom_push(key=PARTIAL_XCOM_KEY, value=results.ordered())
        if results.errors:
            context["ti"].xcom_push(key=ERRORS_XCOM_KEY, value={str(i): e for i, e in sorted(results.errors.items())})
        return f"{len(results.results)} answers in XCom '{PARTIAL_XCOM_KEY}' (None where there is none)"

    def output_location(self, context: Context) -> Any:
        """The ``ObjectStoragePath`` the results go to (a folder path gets a file name of this task)."""
        from airflow.sdk import ObjectStoragePath

        path = self.output_path
        if isinstance(path, str):
            text = path
            path = ObjectStoragePath(path)
        else:
            text = str(path)
        if text.endswith("/"):
            ti = context["ti"]
            map_index = getattr(ti, "map_index", -1)
            suffix = f"-{map_index}" if isinstance(map_index, int) and map_index >= 0 else ""
            path = path / f"{ti.task_id}{suffix}-{self._fingerprint}.jsonl"
        return path

    def _write(self, context: Context, results: BatchResults, status: str) -> dict[str, Any]:
        path = self.output_location(context)
        with suppress(OSError, NotImplementedError):  # object stores have no folders to make
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            for line in result_lines(results, self._fingerprint):
                handle.write(line)
        self.log.info("Wrote %d result lines to %s.", results.total, path)
        return manifest(str(path), str(self.batch_id), status, results)

    def on_kill(self) -> None:
        """The task was killed while its batch ran: cancel the batch, unless told not to."""
        if not self.cancel_on_kill or not self.batch_id:
            return
        try:
            with closing(self.get_hook()) as hook:
                hook.cancel_batch(self.batch_id)
        except OVHCloudAIError as exc:
            self.log.warning("Could not cancel batch %s after the task was killed: %s", self.batch_id, exc)
            return
        self.log.info("Cancelled batch %s because the task was killed.", self.batch_id)
