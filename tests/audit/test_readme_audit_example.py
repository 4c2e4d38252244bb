"""The README's way to check an inclusion proof by hand (standard library
only) accepts the proofs the server gives and refuses altered ones."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.audit.test_proofs_http import INCLUSION, data, signed

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
AUDITORS = README[README.index("## Auditors") :]
SNIPPET = re.findall(r"```python\n(.*?)```", AUDITORS, re.DOTALL)[0]


def readme_check() -> Callable[[dict[str, Any], str], bool]:
    namespace: dict[str, Any] = {}
    exec(SNIPPET, namespace)  # noqa: S102 - the README's own example
    check: Callable[[dict[str, Any], str], bool] = namespace["holds"]
    return check


def test_the_readme_check_holds_for_served_proofs_and_not_for_altered_ones(
    client: httpx.Client,
) -> None:
    holds = readme_check()
    checkpoint = signed(client, at_least=41)
    root = base64.b64encode(checkpoint.root).decode()
    for position in range(1, 42, 5):
        proof = data(client, INCLUSION, position=position, size=checkpoint.size)[
            "inclusionProof"
        ]
        assert holds(proof, root)
        other = data(client, INCLUSION, position=position % 41 + 1)["inclusionProof"]
        assert not holds({**proof, "leaf": other["leaf"]}, root)
        assert not holds({**proof, "leafIndex": proof["leafIndex"] ^ 1}, root)
        if proof["path"]:
            first = bytearray(base64.b64decode(proof["path"][0]))
            first[0] ^= 1
            bent = [base64.b64encode(first).decode(), *proof["path"][1:]]
            assert not holds({**proof, "path": bent}, root)
