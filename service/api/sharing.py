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


class SharedEventExecution(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = getattr(self.root_value, "shared", None)
        context = self.context_value
        if serially is not False or not isinstance(shared, dict):
            return super().execute_operation(serially)
        if not isinstance(context, Context):
            return super().execute_operation(serially)
        operation = self.operation
        used = _read_by_selection(operation, self.fragments)
        coerced = self.variable_values.coerced
        variables = json.dumps(
            {name: coerced.get(name) for name in sorted(used)},
            sort_keys=True,
            default=str,
        )
        key = ("result", id(operation), variables, context.can_read)
        found = shared.get(key)
        if found is not None and found[0] is operation:
            return found[1]
        result = super().execute_operation(serially)
        if not self.is_awaitable(result):
            shared[key] = (operation, result)
        return result
