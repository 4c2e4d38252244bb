"""Run each subscription document once per event, whatever the subscribers.

graphql-core executes a subscription's selection for every subscriber on
every event; with a thousand subscribers on one document that is a thousand
identical executions per write. Events carry a ``shared`` dict (see
service.feed.entries.LogEntry); the first subscriber to execute a document on
an event keeps the result there, and every other subscriber with the same
document, the same variables (those the selection reads: the root field's
own arguments, such as ``after``, pick the stream, not the result) and the
same read access takes it as is. Results are never changed after execution,
so sharing them is safe; the transports serialize each one per subscriber.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from graphql import (
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    visit,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from service.api.context import Context

_USED: OrderedDict[int, tuple[OperationDefinitionNode, frozenset[str]]] = OrderedDict()
_KEEP = 256


class _Variables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


def _read_by_selection(
    operation: OperationDefinitionNode, fragments: dict[str, Any]
) -> frozenset[str]:
    """Variables the result can depend on: all but the root field's args."""
    found = _USED.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    visitor = _Variables()
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for directive in selection.directives or ():
                visit(directive, visitor)
            if selection.selection_set is not None:
                visit(selection.selection_set, visitor)
        else:
            visit(selection, visitor)
    for fragment in fragments.values():
        visit(fragment, visitor)
    names = frozenset(visitor.names)
    _USED[id(operation)] = (operation, names)
    while len(_USED) > _KEEP:
        _USED.popitem(last=False)
    return names


class _Shared:
    """Stands for a per-event executor when the event's result is already
    shared: graphql-core only calls ``execute_operation`` on it."""

    __slots__ = ("result",)

    def __init__(self, result: Any) -> None:
        self.result = result

    def execute_operation(self, serially: bool | None = None) -> Any:  # noqa: ARG002
        return self.result


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    _share_key: tuple[Any, ...] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """A subscription's executor is kept on its context: the live fan-out
        (service.api.fanout) renders events with it. Per-event executors are
        copies and do not pass here."""
        super().__init__(*args, **kwargs)
        context = self.context_value
        if (
            isinstance(context, Context)
            and self.operation.operation is OperationType.SUBSCRIPTION
        ):
            context.subscription = self

    def share_key(self) -> tuple[Any, ...] | None:
        """What a shared result is kept under; the same for every event of
        one subscription, so it is worked out once (and copied with the
        executor)."""
        if self._share_key is None:
            context = self.context_value
            if not isinstance(context, Context):
                return None
            operation = self.operation
            used = _read_by_selection(operation, self.fragments)
            coerced = self.variable_values.coerced
            variables = json.dumps(
                {name: coerced.get(name) for name in sorted(used)},
                sort_keys=True,
                default=str,
            )
            self._share_key = ("result", id(operation), variables, context.can_read)
        return self._share_key

    def build_per_event_executor(self, payload: Any) -> Any:
        shared = getattr(payload, "shared", None)
        if isinstance(shared, dict):
            key = self.share_key()
            found = shared.get(key) if key is not None else None
            if found is not None and found[0] is self.operation:
                return _Shared(found[1])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared", None)
        if serially is not False or not isinstance(shared, dict):
            return super().execute_operation(serially)
        key = self.share_key()
        if key is None:
            return super().execute_operation(serially)
        operation = self.operation
        found = shared.get(key)
        if found is not None and found[0] is operation:
            return found[1]
        result = super().execute_operation(serially)
        # Only a clean result is shared: an error may be this subscriber's
        # own (its budget), and transports rewrite errors in place.
        if not self.is_awaitable(result) and not getattr(result, "errors", None):
            shared[key] = (operation, result)
        return result
