"""AI Training: jobs submitted, polled, listed, labelled, killed, restarted and deleted; their logs.

``backend`` holds the job state machine (no HTTP), ``jobspec`` the JobSpec validation rules,
``responses`` the ``/v1/job...`` wire format and the routes.
"""
