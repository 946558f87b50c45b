"""What the three decorators share: catching a misspelt decorator argument when the DAG is parsed."""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from airflow.providers.common.compat.sdk import context_merge, determine_kwargs

_NAMED = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
#: Arguments the decorator machinery itself consumes.
_DECORATOR_ARGS = frozenset({"multiple_outputs", "python_callable", "op_args", "op_kwargs", "task_id"})


@cache
def _accepted(operator_class: type) -> frozenset[str]:
    names: set[str] = set(_DECORATOR_ARGS)
    for klass in operator_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in parameters if p.kind in _NAMED and p.name != "self")
    return frozenset(names)


def call_function(operator: Any, context: Any) -> Any:
    """Run the decorated function the way ``@task`` does (context and mapped arguments merged in)."""
    context_merge(context, operator.op_kwargs)
    kwargs = determine_kwargs(operator.python_callable, operator.op_args, context)
    return operator.python_callable(*operator.op_args, **kwargs)


def check_decorator_kwargs(name: str, operator_class: type, kwargs: dict[str, Any]) -> None:
    """Raise at DAG parse time on an argument no layer accepts.

    Airflow checks a plain call's arguments when it builds the operator, but a mapped task
    (``.expand()``, ``.partial()``) is only built when it runs; this check covers both.
    """
    accepted = _accepted(operator_class)
    unknown = sorted(set(kwargs) - accepted)
    if not unknown:
        return
    import difflib  # only on the error path: DAG parsing should not pay for it

    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, accepted, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    from airflow_ovhcloud.exceptions import OVHCloudAIInvalidArgumentError

    raise OVHCloudAIInvalidArgumentError(f"@task.{name} got unexpected argument(s): {', '.join(hints)}.")
