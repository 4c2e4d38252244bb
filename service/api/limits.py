"""Refuse hostile documents before they run: too deep, too many aliases,
numbers too long to parse.

Stock depth and alias limiters re-walk every fragment spread, so a document of
fragments that each spread the previous one twice costs them exponential time.
This rule measures each fragment once (memoised), so its cost is linear in the
document's size whatever the fan-out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    Visitor,
    visit,
)
from strawberry.extensions import ValidationCache

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})
# No argument needs a longer number; Python refuses to parse past 4,300 digits.
MAX_NUMBER_LITERAL = 32


def document_limits(
    max_depth: int, max_aliases: int, max_introspection_depth: int = 20
) -> type[ASTValidationRule]:
    class DocumentLimits(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._memo: dict[str, tuple[int, int]] = {}
            self._fragments: dict[str, FragmentDefinitionNode] = {}

        def enter_document(self, node: DocumentNode, *_: Any) -> None:
            self._fragments = {
                d.name.value: d
                for d in node.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            for definition in node.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(definition)

        def _check(self, operation: OperationDefinitionNode) -> None:
            aliases = 0
            for selection in operation.selection_set.selections:
                depth, count = self._measure_selection(selection, set())
                aliases += count
                limit = (
                    max_introspection_depth
                    if isinstance(selection, FieldNode)
                    and selection.name.value in INTROSPECTION_ROOTS
                    else max_depth
                )
                if depth > limit:
                    self.report_error(
                        GraphQLError(
                            f"The query is nested {depth} levels deep; "
                            f"the limit is {limit}.",
                            operation,
                            extensions={"code": "QUERY_TOO_DEEP"},
                        )
                    )
                    return
            if aliases > max_aliases:
                self.report_error(
                    GraphQLError(
                        f"The query uses {aliases} aliases; "
                        f"the limit is {max_aliases}.",
                        operation,
                        extensions={"code": "TOO_MANY_ALIASES"},
                    )
                )

        def _measure_set(
            self, selection_set: SelectionSetNode | None, visiting: set[str]
        ) -> tuple[int, int]:
            depth, aliases = 0, 0
            if selection_set is None:
                return depth, aliases
            for selection in selection_set.selections:
                d, a = self._measure_selection(selection, visiting)
                depth = max(depth, d)
                aliases += a
            return depth, aliases

        def _measure_selection(
            self, selection: Any, visiting: set[str]
        ) -> tuple[int, int]:
            if isinstance(selection, FieldNode):
                d, a = self._measure_set(selection.selection_set, visiting)
                return d + 1, a + (1 if selection.alias else 0)
            if isinstance(selection, InlineFragmentNode):
                return self._measure_set(selection.selection_set, visiting)
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in self._memo:
                    return self._memo[name]
                fragment = self._fragments.get(name)
                if fragment is None or name in visiting:
                    return 0, 0  # unknown or cyclic: other rules report it
                measured = self._measure_set(fragment.selection_set, visiting | {name})
                self._memo[name] = measured
                return measured
            return 0, 0

    return DocumentLimits


class _LongNumbers(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: IntValueNode | FloatValueNode | None = None

    def enter_int_value(self, node: IntValueNode, *_: Any) -> None:
        self._check(node)

    def enter_float_value(self, node: FloatValueNode, *_: Any) -> None:
        self._check(node)

    def _check(self, node: IntValueNode | FloatValueNode) -> None:
        if self.found is None and len(node.value) > MAX_NUMBER_LITERAL:
            self.found = node


class ValidationWithNumbers(ValidationCache):
    """Cached validation, after refusing number literals too long to parse:
    graphql-core's own rules would fail on them (Python parses at most 4,300
    digits), and validation runs every rule at once, so this must come first."""

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        numbers = _LongNumbers()
        if document is not None:
            visit(document, numbers)
        if numbers.found is None:
            yield from super().on_validate()
            return
        self.execution_context.pre_execution_errors = [
            GraphQLError(
                f"A number in the document is longer than "
                f"{MAX_NUMBER_LITERAL} characters.",
                numbers.found,
                extensions={"code": "BAD_USER_INPUT"},
            )
        ]
        yield
