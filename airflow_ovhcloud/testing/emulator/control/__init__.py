"""The emulator's control API: drive a running emulator from another process, over HTTP.

The in-process :class:`~airflow_ovhcloud.testing.emulator.OVHCloudAIEmulator` is scripted with method
calls; a standalone one (``airflow-ovhcloud emulator``) serving a real Airflow deployment or another
language's tests is scripted through routes under :data:`PREFIX`, the pattern of moto's server mode.
``responses`` turns those routes into the facade's own verbs (no backend of its own: the state is the
emulator's); ``client`` is :class:`EmulatorClient`, the same verbs in Python over ``urllib``.

Control routes go through the same router but skip every gate: they are not journaled and meet no
latency, fault, size limit, token or rate limit.
"""

from airflow_ovhcloud.testing.emulator.control.client import EmulatorClient, EmulatorControlError
from airflow_ovhcloud.testing.emulator.control.responses import PREFIX

__all__ = ["PREFIX", "EmulatorClient", "EmulatorControlError"]
