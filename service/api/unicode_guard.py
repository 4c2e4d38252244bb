"""Refuse strings that are not well-formed Unicode before anything runs.

JSON can carry a lone UTF-16 surrogate (``"\\ud800"``) and Python decodes it,
but no store, hash or UTF-8 encoder accepts it. Every string a client sends
reaches a resolver through a variable or a literal argument; graphql-core's
parser already refuses a surrogate in a literal (GRAPHQL_PARSE_FAILED), so
checking every variable here covers the whole API, naming the field. The
domain's text rule refuses them again for callers that do not come through
GraphQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult, GraphQLError
from strawberry.extensions import SchemaExtension


def _bad(path: str) -> GraphQLError:
    return GraphQLError(
        f"{path} is not valid Unicode (it holds a lone surrogate).",
        extensions={"code": "BAD_USER_INPUT", "field": path},
    )


def _malformed(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_bad_variable(value: Any, path: str) -> str | None:
    """The path of the first ill-formed string in a variable's JSON value."""
    if isinstance(value, str):
        return path if _malformed(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}"
            if isinstance(key, str) and _malformed(key):
                return name
            found = first_bad_variable(item, name)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_variable(item, f"{path}[{index}]")
            if found:
                return found
    return None


class WellFormedStrings(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        bad = None
        for name, value in (context.variables or {}).items():
            bad = bad or first_bad_variable(value, f"${name}")
        if bad is not None:
            context.result = ExecutionResult(data=None, errors=[_bad(bad)])
        yield
