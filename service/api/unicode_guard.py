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

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from service.api.context import refuse
from service.domain.text import malformed


def _bad(path: str) -> GraphQLError:
    return GraphQLError(
        f"{path} is not valid Unicode (it holds a lone surrogate).",
        extensions={"code": "BAD_USER_INPUT", "field": path},
    )


def first_ill_formed(value: Any, path: str) -> str | None:
    """The path of the first ill-formed string (or key) in a JSON value."""
    if isinstance(value, str):
        return path if malformed(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}"
            if isinstance(key, str) and malformed(key):
                return name
            found = first_ill_formed(item, name)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = first_ill_formed(item, f"{path}[{index}]")
            if found:
                return found
    return None


class WellFormedStrings(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        bad = None
        for name, value in (context.variables or {}).items():
            bad = bad or first_ill_formed(value, f"${name}")
        if bad is not None:
            refuse(context, [_bad(bad)])
        yield
