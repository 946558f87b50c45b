"""A local, real-HTTP stand-in for OVHcloud AI Endpoints and AI Training.

Tests and demos need a server that speaks the same wire format as the real service, fails on
demand and keeps a journal, without a network or an API key. The emulator is written against the
wire format only (standard library, no import from Airflow or from the hooks) so that it stays an
independent check on the client code.

AI Endpoints answers under ``endpoints_url`` (``/v1/models``, ``/v1/chat/completions``,
``/v1/embeddings``; OpenAI-style errors); AI Training answers under ``training_url`` (``/v1/job...``;
errors as ``{"message": ...}``). Jobs move along their lifecycle one step per ``GET /v1/job/{id}`` by
default (``job_progress = "polls"``), or one step per ``job_step_seconds`` of ``time.monotonic()``
(``job_progress = "time"``); see :meth:`OVHCloudAIEmulator.script_job` for the scripted paths.

The package is split the way a fake service usually is (backend / responses / routes / server):

- ``facade``: :class:`OVHCloudAIEmulator`, the public class; it wires the parts and delegates.
- ``server``: sockets, body framing, SSE writing, lifecycle. ``routing``: the route table and the
  gate chain (journal, latency, fault, size, auth, route). ``wire``: the ``Call``/``Reply`` records.
- ``journal``, ``faults``, ``errors``: recorded requests, fault injection, service errors and shapes.
- ``endpoints`` and ``training``: per service, a ``backend`` (state, no HTTP) and a ``responses``
  module (request/reply shaping) whose ``register(router)`` contributes its routes. A new service
  (Batch API, log follow, a control API) lands as such a pair plus one ``register`` call.
"""

from airflow_ovhcloud.testing.emulator.facade import OVHCloudAIEmulator
from airflow_ovhcloud.testing.emulator.journal import RecordedRequest
from airflow_ovhcloud.testing.emulator.wire import MAX_BODY_BYTES

__all__ = ["MAX_BODY_BYTES", "OVHCloudAIEmulator", "RecordedRequest"]
