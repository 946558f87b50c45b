"""Test helpers: the local OVHcloud AI emulator and its pytest fixture."""

from airflow_ovhcloud.testing.emulator import OVHCloudAIEmulator, RecordedRequest

__all__ = ["OVHCloudAIEmulator", "RecordedRequest"]
