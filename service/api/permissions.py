"""Who may call what: editors write; reads are open or need any known key.

Permission instances are shared across requests, so each class carries one
fixed message and code; a write checks HasKey first, then IsEditor.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission

from service.api.context import Info


class HasKey(BasePermission):
    message = "This needs a known API key (Authorization: Bearer <key>)."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:  # noqa: ARG002
        return info.context.principal is not None


class IsEditor(BasePermission):
    message = "Writes need an API key with the editor role."
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:  # noqa: ARG002
        return info.context.can_write


class CanRead(BasePermission):
    message = "Reads on this server need an API key (Authorization: Bearer <key>)."
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:  # noqa: ARG002
        return info.context.can_read


WRITE: list[type[BasePermission]] = [HasKey, IsEditor]
READ: list[type[BasePermission]] = [CanRead]
