"""Refuse hostile documents before they run: too deep, too many aliases.

Stock depth and alias limiters re-walk every fragment spread, so a document of
fragments that each spread the previous one twice costs them exponential time.
This rule measures each fragment once (memoised), so its cost is linear in the
document's size whatever the fan-out.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)

INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


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
