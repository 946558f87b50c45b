"""Apache Airflow provider for OVHcloud AI Endpoints and AI Training."""

__version__ = "0.1.0"

__all__ = ["__version__"]
