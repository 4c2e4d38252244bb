"""What a query may cost, in units of work: one claim reading, one replay of a
stream from the store, or one pass over the catalog each.

Two checks share the units. Before execution, ``CostEstimate`` prices the
document: each field's own units, times the items of the list it is in, per
alias and per fragment spread. A page counts the items it asks for (``first``,
or its default); a list the document cannot size (sources, statements, stances,
links) counts what such a list holds now on average. A document over the
budget is refused with no data and no store call. During execution the
request's ``Budget`` charges every unit a read is about to do, before it does
it, so no query does more than the budget whatever its data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension

from service.api.context import Context, too_costly
from service.catalog import Shape


@dataclass(frozen=True)
class Price:
    """What one field costs: ``units`` itself, plus ``each`` per item of the
    page it asks for (``paged``: sized by its ``first`` argument)."""

    units: int = 0
    each: int = 0
    paged: bool = False


READ_AT_BASIS = Price(units=2)  # a claim reading, and a replay if the basis is past

# Fields that read; every other field is computed from what these read. Keys
# are GraphQL names (type.field), checked against the schema by a test.
PRICES: Mapping[str, Price] = {
    "Query.claim": READ_AT_BASIS,
    "Query.node": Price(units=1),
    "Query.claims": Price(units=1, each=1, paged=True),
    "Query.sources": Price(units=1),
    "Query.source": Price(units=1),
    "Query.position": Price(units=1),
    "Claim.asOf": READ_AT_BASIS,
    "Claim.history": Price(units=1),
    "Claim.diff": Price(units=1),
    "ClaimLink.fromClaim": READ_AT_BASIS,
    "ClaimLink.toClaim": READ_AT_BASIS,
    "Source.statements": Price(units=1, each=1),
}


def list_sizes(shape: Shape) -> dict[str, int]:
    """How many items each list the document does not size holds now, on
    average: the sources, a source's statements (one claim each), a claim's
    stances and links, a chain's hops. Other lists count once."""
    return {
        "Query.sources": shape.sources,
        "Source.statements": _mean(shape.citations, shape.sources),
        "Claim.stances": _mean(shape.stances, shape.claims),
        "Stance.chain": _mean(shape.hops, shape.stances),
        "Claim.links": _mean(shape.links, shape.claims),
        "Claim.linkedFrom": _mean(shape.links, shape.claims),
    }


def _mean(total: int, count: int) -> int:
    return math.ceil(total / count) if count else 0


def estimate(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    max_page: int,
    sizes: Mapping[str, int],
) -> int:
    """The units a document asks for: pages by their size, other lists by
    ``sizes``; linear in the document's size (each fragment is priced once,
    however often it is spread)."""
    memo: dict[str, int] = {}

    def page_size(field: FieldNode, definition: GraphQLField) -> int:
        argument = next(
            (a for a in field.arguments or () if a.name.value == "first"), None
        )
        value: Any = definition.args["first"].default_value
        if argument is not None:
            node = argument.value
            if isinstance(node, IntValueNode):
                value = int(node.value)
            elif isinstance(node, VariableNode):
                value = variables.get(node.name.value, _default(operation, node))
            elif isinstance(node, NullValueNode):
                value = None
        # An out-of-range size is refused by the field itself, with its own error.
        return min(max(value, 0), max_page) if isinstance(value, int) else max_page

    def of_set(selection_set: SelectionSetNode | None, parent: Any) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType):
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += of_field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                total += of_set(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                total += of_fragment(selection.name.value)
        return total

    def of_fragment(name: str) -> int:
        if name not in memo:
            memo[name] = 0  # a cycle is a validation error; never loop on one
            fragment = fragments[name]
            inner = schema.get_type(fragment.type_condition.name.value)
            memo[name] = of_set(fragment.selection_set, inner)
        return memo[name]

    def of_field(field: FieldNode, parent: GraphQLObjectType) -> int:
        name = field.name.value
        definition = parent.fields.get(name)
        if definition is None:  # __typename and introspection read nothing
            return 0
        key = f"{parent.name}.{name}"
        price = PRICES.get(key, Price())
        items = page_size(field, definition) if price.paged else sizes.get(key, 1)
        below = of_set(field.selection_set, get_named_type(definition.type))
        return price.units + items * (price.each + below)

    root = schema.get_root_type(operation.operation)
    return of_set(operation.selection_set, root)


def _default(operation: OperationDefinitionNode, variable: VariableNode) -> Any:
    for definition in operation.variable_definitions or ():
        if definition.variable.name.value == variable.name.value:
            node = definition.default_value
            return int(node.value) if isinstance(node, IntValueNode) else None
    return None


def cost_estimate(limit: int, max_page: int) -> type[SchemaExtension]:
    """An extension that refuses a document priced over ``limit`` before it
    runs, and reports every answer's cost in ``extensions.cost``."""

    class CostEstimate(SchemaExtension):
        estimated: int | None = None

        def on_execute(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            operation = (
                get_operation_ast(document, context.operation_name)
                if document is not None and context.result is None
                else None
            )
            request = context.context
            if (
                document is not None
                and operation is not None
                and isinstance(request, Context)
            ):
                fragments = {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                self.estimated = estimate(
                    context.schema._schema,
                    operation,
                    fragments,
                    context.variables or {},
                    max_page,
                    list_sizes(request.services.catalog.shape()),
                )
                if self.estimated > limit:
                    context.result = ExecutionResult(
                        data=None,
                        errors=[
                            too_costly(
                                f"The query asks for {self.estimated} reads of "
                                f"the store; the limit is {limit}. Ask for fewer "
                                "items (first) or fields per request.",
                                estimated=self.estimated,
                                limit=limit,
                            )
                        ],
                    )
            yield

        def get_results(self) -> dict[str, Any]:
            request = self.execution_context.context
            if self.estimated is None or not isinstance(request, Context):
                return {}
            spent = request.budget.spent
            return {
                "cost": {"estimated": self.estimated, "spent": spent, "limit": limit}
            }

    return CostEstimate
