"""Test helpers: the local OVHcloud AI emulator, its control-API client, and DAG runs that fail loudly.

- :class:`OVHCloudAIEmulator`: the emulator in this process (the ``ovhcloud_emulator`` pytest fixture
  gives each test one, wired to the default connections).
- :class:`EmulatorClient`: the same verbs for an emulator in another process (``airflow-ovhcloud emulator``).
- :func:`run_dag`: ``dag.test()`` with the set-up it needs, raising :class:`DagRunFailed` when a task
  fails, returning a :class:`DagRunResult` (states and XComs by task).

Importing this module imports nothing from Airflow; ``run_dag`` and friends import it when called.
"""

from airflow_ovhcloud.testing.dagrun import (
    DagRunFailed,
    DagRunResult,
    TaskFailure,
    fast_polling,
    load_dag,
    prepare_airflow_home,
    run_dag,
)
from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator, RecordedRequest
from airflow_ovhcloud.testing.emulator.control import EmulatorClient, EmulatorControlError

__all__ = [
    "DagRunFailed",
    "DagRunResult",
    "EmulatorClient",
    "EmulatorControlError",
    "OVHCloudAIEmulator",
    "RecordedRequest",
    "TaskFailure",
    "fast_polling",
    "load_dag",
    "prepare_airflow_home",
    "run_dag",
]
