"""Per-request context: the services and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry

from service.bootstrap import Services
from service.settings import ApiKey, Role


@dataclass
class Context:
    services: Services
    principal: ApiKey | None
    connection_params: dict[str, Any] = field(default_factory=dict)

    @property
    def can_write(self) -> bool:
        return self.principal is not None and self.principal.role is Role.EDITOR

    @property
    def can_read(self) -> bool:
        return not self.services.settings.reads_need_key or self.principal is not None


Info = strawberry.Info[Context, None]
