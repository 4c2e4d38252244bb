"""Every error a client sees carries ``extensions.code``; nothing unexpected
leaks (no exception text, no stack trace).

- DomainError raised by the ledger: its own code and details.
- Errors raised with a code (permissions, limits): kept as they are.
- Parse, validation and variable errors from graphql-core: a client code.
- Anything else: 'Unexpected error.' with INTERNAL_SERVER_ERROR, logged here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

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
    if original is None or isinstance(original, GraphQLError):
        message = error.message
        if message.startswith("Syntax Error: Document contains more than"):
            code = "QUERY_TOO_LARGE"  # graphql-core's max_tokens, set by the limiter
        elif message.startswith("Syntax Error"):
            code = "GRAPHQL_PARSE_FAILED"
        elif message.startswith("Variable"):
            code = "BAD_USER_INPUT"
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
    itself; the HTTP view classifies again to cover parse and validation."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [classify(e) for e in result.errors]
            over = [e for e in result.errors if _code(e) == "QUERY_TOO_COSTLY"]
            if over:
                # Partial data would pass the fields past the budget off as
                # null answers (a null asOf means "not recorded then").
                result.data = None
                result.errors = over[:1]


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
                context.result = ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            "The document holds several operations: "
                            "say which to run with operationName.",
                            extensions={"code": "OPERATION_NAME_REQUIRED"},
                        )
                    ],
                )
        yield
