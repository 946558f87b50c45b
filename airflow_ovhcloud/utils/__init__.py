"""Pure logic with no HTTP in it: the job spec, job states and waiting, redaction.

Operators, decorators and the trigger import these at module level; nothing here imports
``requests``, so DAG parsing and the triggerer's event loop never pay for it.
"""
