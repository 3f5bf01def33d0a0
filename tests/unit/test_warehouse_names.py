"""`warehouse` lists each public name three times: for type checkers, in the lazy map, in __all__.

The three lists must agree, and every name must resolve to what its home module defines
(a name missing from the map fails only when some caller first reaches for it).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import warehouse

SOURCE = Path(warehouse.__file__).read_text(encoding="utf-8")


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the imports under `if TYPE_CHECKING:`."""
    out: dict[str, str] = {}
    for node in ast.parse(SOURCE).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module is not None
                out.update({alias.name: imp.module for alias in imp.names})
    return out


def test_the_three_lists_of_public_names_agree() -> None:
    homes = warehouse._HOMES
    assert _type_checking_imports() == homes
    assert sorted(warehouse.__all__) == sorted(homes)


def test_every_public_name_resolves_to_its_home_modules_object() -> None:
    for name, home in warehouse._HOMES.items():
        assert getattr(warehouse, name) is getattr(importlib.import_module(home), name)
