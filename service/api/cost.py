"""What a query may cost, in units of work (``service.readings.Charge``: a
claim read or a look-up in the views is one unit, a replay of events one
per ten events it reads, at least one, and a search, or a count of a
filtered list, one per thousand claims its index may hold).

Two checks share the units. Before execution, ``estimate`` prices the
document from the views' sizes, with no store call: each field's own
units, times the items of the list it is in, per alias and per fragment
spread. A page counts the items it asks for (``first``, or its default) and,
when it searches or counts a filtered list, every claim (the count of every
claim, of one status or of one source is kept, and free); a claim read at a
past version counts the events it replays after the snapshot before it (at
most 99: fewer for the named claim's stream, or the longest stream, if
shorter); a page of history, its own events; a
list the document cannot size (a chain's hops, affirming voices), and a page
of a claim's stances or links, count the most such a list holds anywhere (at
most the page), so a claim with thousands of stances is not priced as an
average one. Fragments on an interface are priced for each type they may
be, at the dearest. A document over the budget is refused with no data, no
store call and, for a mutation, no write. During execution the request's
``Budget`` charges every unit a read is about to do, before it does it, so no
query does more than the budget whatever the store holds by then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from service.api.context import Context, refuse, too_costly
from service.api.ids import expect_id
from service.domain.errors import DomainError
from service.domain.ids import claim_id_for
from service.paging import DEFAULT_PAGE
from service.readings import load_units, replay_units, scan_units
from service.views.reads import Shape

VersionOf = Callable[[UUID], int | None]

FILTERS = (
    "status",
    "sourceId",
    "entity",
    "text",
    "occurredFrom",
    "occurredTo",
    "reportedFrom",
    "reportedTo",
)
WINDOWED = ("after", "last", "before")  # a page that may start past the first
PAST = ("version", "recordedAt", "position")  # a basis read by a replay


@dataclass(frozen=True)
class Scope:
    """What the fields below a reading may read: ``events``, the length of
    the stream a replay there reads; ``past``, whether the reading is at a
    past recorded time (the claims and statements it reaches are replayed)."""

    events: int
    past: bool = False


# Fields whose own units the estimate prices (each a read); every other field
# is computed from what these read. GraphQL names (type.field), checked
# against the schema by a test.
PRICED = frozenset(
    {
        "Query.claim",
        "Query.node",
        "Query.claims",
        "Query.sources",
        "Query.source",
        "Query.position",
        "Query.checkpoint",
        "Query.inclusionProof",
        "Query.consistencyProof",
        "Claim.asOf",
        "Claim.history",
        "Claim.diff",
        "ClaimLink.fromClaim",
        "ClaimLink.toClaim",
        "Source.statements",
        "ClaimWrite.claim",
    }
)


IN_HAND = frozenset({"Claim.stances", "Claim.links", "Claim.linkedFrom"})
"""Connections over lists a reading holds whole: a page reads nothing more,
and holds the page's size or the most such a list holds, whichever is less."""


def list_sizes(shape: Shape) -> dict[str, int]:
    """The most items each list a claim holds may have: its stances, links
    and affirming voices, a chain's hops. Other lists count once;
    connections count the page they ask for."""
    return {
        "Claim.stances": shape.most_stances,
        "Status.independentAffirmingVoices": shape.most_stances,
        "Stance.chain": shape.most_hops,
        "Claim.links": shape.most_links,
        "Claim.linkedFrom": shape.most_linked_from,
    }


def estimate(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    max_page: int,
    shape: Shape,
    version_of: VersionOf,
) -> int:
    """The units a document asks for. Linear in the document's size times the
    scopes it reads claims in: each fragment is priced once per type and
    scope, however often it is spread."""
    sizes = list_sizes(shape)
    memo: dict[tuple[str, str, Scope], int] = {}
    longest = Scope(events=shape.longest_stream)

    def argument(field: FieldNode, name: str) -> Any:
        """The argument's value as the client gave it; None when absent or
        null, Undefined when it names a variable nobody set."""
        node: ValueNode | None = next(
            (a.value for a in field.arguments or () if a.name.value == name), None
        )
        if node is None:
            return None
        if isinstance(node, VariableNode) and node.name.value not in variables:
            return _default(operation, node)
        return value_from_ast_untyped(node, dict(variables))

    def page_size(field: FieldNode, definition: GraphQLField) -> int:
        """``first`` or ``last`` (a backward page), else the field's default
        page: DEFAULT_PAGE when ``first`` defaults to null."""
        given = [
            argument(field, name)
            for name in ("first", "last")
            if any(a.name.value == name for a in field.arguments or ())
        ]
        sizes = [v for v in given if v is not None]
        if not given:
            default = definition.args["first"].default_value
            sizes = [DEFAULT_PAGE if default is None else default]
        elif not sizes:
            sizes = [DEFAULT_PAGE]  # given as null: the default page
        # An out-of-range size is refused by the field itself, with its own error.
        counted = [v for v in sizes if isinstance(v, int)]
        if len(counted) != len(sizes):
            return max_page
        return min(max(max(counted), 0), max_page)

    def named_claim(field: FieldNode) -> Scope:
        """The scope below a field that names one claim (by key or id): its
        own stream's length when it is a long one (else a short stream's)."""
        key, gid = argument(field, "key"), argument(field, "id")
        try:
            if isinstance(key, str):
                claim_id = claim_id_for(key)
            elif isinstance(gid, str):
                claim_id = expect_id(gid, "Claim")
            else:
                return longest
        except (DomainError, ValueError):
            return longest  # the field refuses it itself, before any read
        found = version_of(claim_id)
        return longest if found is None else Scope(events=found)

    def is_past(field: FieldNode, name: str) -> bool:
        basis = argument(field, name)
        if basis is None:
            return False
        if not isinstance(basis, dict):
            return True  # not knowable here: price the replay
        return any(basis.get(k) is not None for k in PAST)

    def loaded(events: int, upto: Any) -> int:
        """A claim of ``events`` events loaded at a past version, the one the
        document names if it does (a snapshot and the events since)."""
        return load_units(min(upto, events) if isinstance(upto, int) else events)

    def basis_version(field: FieldNode, name: str) -> Any:
        basis = argument(field, name)
        return basis.get("version") if isinstance(basis, dict) else None

    def selects(
        selection_set: SelectionSetNode | None, name: str, seen: set[str]
    ) -> bool:
        """Whether a selection set asks for a field of its own type, directly
        or through its fragments."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value == name:
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if selects(selection.selection_set, name, seen):
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                spread = selection.name.value
                fragment = fragments.get(spread)
                if spread not in seen and fragment is not None:
                    seen.add(spread)
                    if selects(fragment.selection_set, name, seen):
                        return True
        return False

    def of_set(
        selection_set: SelectionSetNode | None, parent: GraphQLNamedType, scope: Scope
    ) -> int:
        if selection_set is None:
            return 0
        if isinstance(parent, GraphQLObjectType):
            return of_object(selection_set, parent, scope)
        if is_abstract_type(parent):
            # The dearest of the types it may turn out to be.
            assert isinstance(parent, GraphQLAbstractType)  # noqa: S101 - just checked
            possible = schema.get_possible_types(parent)
            return max(
                (of_object(selection_set, t, scope) for t in possible), default=0
            )
        return 0

    def applies(condition: str | None, concrete: GraphQLObjectType) -> bool:
        if condition is None or condition == concrete.name:
            return True
        named = schema.get_type(condition)
        return isinstance(named, GraphQLAbstractType) and schema.is_sub_type(
            named, concrete
        )

    def of_object(
        selection_set: SelectionSetNode, parent: GraphQLObjectType, scope: Scope
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += of_field(selection, parent, scope)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if applies(condition.name.value if condition else None, parent):
                    total += of_object(selection.selection_set, parent, scope)
            elif isinstance(selection, FragmentSpreadNode):
                total += of_fragment(selection.name.value, parent, scope)
        return total

    def of_fragment(name: str, parent: GraphQLObjectType, scope: Scope) -> int:
        key = (name, parent.name, scope)
        if key not in memo:
            memo[key] = 0  # a cycle is a validation error; never loop on one
            fragment = fragments.get(name)
            if fragment is not None and applies(
                fragment.type_condition.name.value, parent
            ):
                memo[key] = of_object(fragment.selection_set, parent, scope)
        return memo[key]

    def of_field(field: FieldNode, parent: GraphQLObjectType, scope: Scope) -> int:
        name = field.name.value
        definition = parent.fields.get(name)
        if definition is None:  # __typename and introspection read nothing
            return 0
        key = f"{parent.name}.{name}"
        below_type = get_named_type(definition.type)

        def below(inner: Scope) -> int:
            return of_set(field.selection_set, below_type, inner)

        if key not in PRICED:
            items = sizes.get(key, 1)
            if key in IN_HAND:
                items = min(items, page_size(field, definition))
            return items * below(scope)
        if key == "Query.claim":
            inner = replace(named_claim(field), past=is_past(field, "asOf"))
            upto = basis_version(field, "asOf")
            replay = loaded(inner.events, upto) if inner.past else 0
            return 1 + replay + below(inner)
        if key == "Query.node":
            return 1 + below(named_claim(field))
        if key == "Query.claims":
            filtered = any(argument(field, f) is not None for f in FILTERS)
            searched = argument(field, "text") is not None
            counted = selects(field.selection_set, "totalCount", set())
            ordered = argument(field, "orderBy")
            sorted_ = filtered and ordered not in (None, "PROPOSED")
            page = page_size(field, definition)
            if argument(field, "asOf") is not None:
                # a claim read and loaded at the basis for each item, one
                # more, and one behind the cursor; a filter that skips some
                # reads more, which the budget charges as it comes
                inner = replace(longest, past=is_past(field, "asOf"))
                each = 1 + (loaded(inner.events, None) if inner.past else 0)
                own = 1 + scan_units(shape.claims) * int(counted)
                return own + (page + 2) * each + page * below(inner)
            given = {f for f in FILTERS if argument(field, f) is not None}
            kept = given == {"status"} or (  # kept counts: see Views.kept
                given == {"sourceId"} and not argument(field, "includeAffiliated")
            )
            scans = int(searched) + int(counted and filtered and not kept)
            scans += int(sorted_)
            own = 1 + scan_units(shape.claims) * scans
            return own + page * (1 + below(longest))
        if key == "Query.sources":
            return 1 + min(page_size(field, definition), shape.sources) * below(longest)
        if key in {
            "Query.source",
            "Query.position",
            "Query.checkpoint",
            "Query.inclusionProof",
            "Query.consistencyProof",
        }:
            return 1 + below(longest)
        if key == "Claim.asOf":
            past = scope.past or is_past(field, "basis")
            upto = basis_version(field, "basis")
            replay = loaded(scope.events, upto) if past else 0
            return 1 + replay + below(replace(scope, past=past))
        if key == "Claim.history":
            # the page's events, and the state before them (a snapshot and
            # the events since) unless the page starts at the first event
            page = page_size(field, definition)
            later = any(argument(field, a) is not None for a in WINDOWED)
            before = load_units(scope.events)
            page = min(page, scope.events)
            return replay_units(page) + (before if later else 0) + page * below(scope)
        if key == "Claim.diff":  # the claim loaded at both versions
            own = loaded(scope.events, argument(field, "toVersion"))
            if argument(field, "fromVersion") != 0:  # version 0 is nothing
                own += loaded(scope.events, argument(field, "fromVersion"))
            return own + below(scope)
        if key in {"ClaimLink.fromClaim", "ClaimLink.toClaim"}:
            inner = replace(longest, past=scope.past)
            own = 1 + (load_units(inner.events) if inner.past else 0)
            return own + below(inner)
        if key == "Source.statements":
            # the walk reads a claim per statement, one more to know what
            # lies beyond, the cursor's own again, and one behind the cursor
            # (with it again); a claim whose stances
            # were not said by the basis is read for none, which the budget
            # charges as it comes
            inner = replace(longest, past=scope.past)
            page = page_size(field, definition)
            claims = min(page + 4, shape.most_citing)
            each = 1 + (load_units(inner.events) if inner.past else 0)
            return 1 + claims * each + min(page, shape.most_statements) * below(inner)
        # ClaimWrite.claim: the write's own reading is free, but it is read at
        # the recorded time of its version, so what it reaches is replayed.
        return below(replace(longest, past=True))

    root = schema.get_root_type(operation.operation)
    assert root is not None  # noqa: S101 - validation ran first
    return of_set(operation.selection_set, root, longest)


def _default(operation: OperationDefinitionNode, variable: VariableNode) -> Any:
    """A variable's default in the operation; Undefined without one."""
    for definition in operation.variable_definitions or ():
        if definition.variable.name.value == variable.name.value:
            node = definition.default_value
            return value_from_ast_untyped(node) if node is not None else None
    return Undefined


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
                views = request.services.views
                self.estimated = request.estimated_cost = estimate(
                    context.schema._schema,
                    operation,
                    fragments,
                    context.variables or {},
                    max_page,
                    views.shape(),
                    views.version_of,
                )
                if self.estimated > limit:
                    writes = operation.operation is OperationType.MUTATION
                    refuse(
                        context,
                        [
                            too_costly(
                                f"The {'mutation' if writes else 'query'} asks "
                                f"for {self.estimated} reads of the store; the "
                                f"limit is {limit}. Ask for fewer items (first) "
                                "or fields per request."
                                + (" Nothing was written." if writes else ""),
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
            return cost_report(request)

    return CostEstimate


def cost_report(request: Context) -> dict[str, Any]:
    """What an answer says of its cost, under ``extensions``: the estimate
    made before it ran, what it spent, and the limit."""
    if request.estimated_cost is None:
        return {}
    budget = request.budget
    return {
        "cost": {
            "estimated": request.estimated_cost,
            "spent": budget.spent,
            "limit": budget.limit,
        }
    }
