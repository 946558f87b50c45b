"""Example DAGs for airflow-ovhcloud; installed as ``airflow_ovhcloud.examples``.

Every file here runs in the test suite against the local emulator. Copy one into your dags folder
to start; ``airflow-ovhcloud demo`` runs the flagship one end to end.
"""
