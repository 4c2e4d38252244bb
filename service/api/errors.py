"""Every error a client sees carries ``extensions.code``; nothing unexpected
leaks (no exception text, no stack trace).

- DomainError raised by the ledger: its own code and details.
- Errors raised with a code (permissions, limits): kept as they are.
- Parse, validation and variable errors from graphql-core: a client code.
- Anything else: 'Unexpected error.' with INTERNAL_SERVER_ERROR, logged here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import (
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)

from service.api.context import COSTLY, refuse
from service.domain.errors import DomainError

log = logging.getLogger("claims_ledger.api")


def _json_safe(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def classify(error: GraphQLError) -> GraphQLError:
    """Idempotent: an error that already has a code is returned as it is."""
    original = error.original_error
    if error.extensions and "code" in error.extensions:
        return error
    if isinstance(original, DomainError):
        extensions = {k: _json_safe(v) for k, v in original.details.items()}
        extensions["code"] = original.code
        return _with(error, original.message, extensions)
    if isinstance(original, CannotGetOperationTypeError | InvalidOperationTypeError):
        # an unknown operationName, or an operation the transport cannot run
        return _with(error, error.message, {"code": "BAD_REQUEST"})
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        if message.startswith("Syntax Error: Document contains more than"):
            code = "QUERY_TOO_LARGE"  # graphql-core's max_tokens, set by the limiter
        elif message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif message.startswith("Variable"):
            code = "BAD_USER_INPUT"
        elif message == "Validation aborted.":
            # graphql-core's own budget for comparing fields and fragments
            code = "QUERY_TOO_LARGE"
            message = (
                "The document takes too much work to validate (many repeated "
                "fields or fragment spreads); send a smaller one."
            )
        else:
            code = "GRAPHQL_VALIDATION_FAILED"
        return _with(error, message, {**(error.extensions or {}), "code": code})
    log.error("unexpected error in %s", error.path, exc_info=original)
    return _with(
        error, "Unexpected error.", {"code": "INTERNAL_SERVER_ERROR"}, mask=True
    )


def _with(
    error: GraphQLError, message: str, extensions: dict[str, Any], *, mask: bool = False
) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None if mask else error.original_error,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Codes for errors of executed operations, for callers of the schema
    itself; the HTTP view classifies again to cover parse and validation.

    A query that goes over its read budget answers no data. A mutation's
    writes are committed by then, so it keeps what data survived and its
    budget error says what was recorded: ``resolve`` notes each mutation
    field's version and position in the request's ``writes`` as it returns
    (a non-null field's error nulls the whole answer, those with it)."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        result = context.result
        if result is not None and result.errors:
            result.errors = [classify(e) for e in result.errors]
            over = [e for e in result.errors if _code(e) == COSTLY]
            if not over:
                return
            if _is_mutation(context.graphql_document, context.operation_name):
                # Its writes are committed: keep whatever data survived, and
                # say so, lest the client retry and record them twice.
                writes = getattr(context.context, "writes", [])
                others = [e for e in result.errors if _code(e) != COSTLY]
                result.errors = [*others, _recorded(over[0], writes)]
            else:
                # Partial data would pass the fields past the budget off as
                # null answers (a null asOf means "not recorded then").
                result.data = None
                result.errors = over[:1]

    def resolve(
        self,
        _next: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        result = _next(root, info, *args, **kwargs)
        # Only root fields have no root value: one test for every other field.
        if root is None and info.parent_type is info.schema.mutation_type:
            return self._note(info, result)
        return result

    @staticmethod
    async def _note(info: GraphQLResolveInfo[Any], pending: Any) -> Any:
        answer = await pending if isawaitable(pending) else pending
        version = getattr(answer, "version", None)
        position = getattr(answer, "position", None)
        writes = getattr(info.context, "writes", None)
        if isinstance(writes, list) and isinstance(position, int):
            field = info.path.key
            writes.append({"field": field, "version": version, "position": position})
        return answer


def _is_mutation(document: DocumentNode | None, name: str | None) -> bool:
    operation = get_operation_ast(document, name) if document is not None else None
    return operation is not None and operation.operation is OperationType.MUTATION


def _recorded(error: GraphQLError, writes: list[dict[str, Any]]) -> GraphQLError:
    """A budget error in a mutation's answer, saying what was written."""
    if not writes:
        return error
    done = "; ".join(
        f"{w['field']} at version {w['version']}, position {w['position']}"
        for w in writes
    )
    message = (
        f"The write was recorded ({done}), but reading its answer went over "
        "the read budget, so part of the answer is missing. Do not retry the "
        "write: read the rest with a query."
    )
    extensions = {**(error.extensions or {}), "recorded": writes}
    return _with(error, message, extensions)


def _code(error: GraphQLError) -> object:
    return (error.extensions or {}).get("code")


class RequireOperationName(SchemaExtension):
    """A document with several operations runs one only when the client names
    it; strawberry alone would quietly run the first."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # Pinned strawberry keeps the client's own name here; a test covers it.
        named = getattr(context, "_provided_operation_name", None)
        if document is not None and named is None:
            operations = [
                d
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            ]
            if len(operations) > 1:
                refuse(
                    context,
                    [
                        GraphQLError(
                            "The document holds several operations: "
                            "say which to run with operationName.",
                            extensions={"code": "OPERATION_NAME_REQUIRED"},
                        )
                    ],
                )
        yield
