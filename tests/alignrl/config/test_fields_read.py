"""No dead config fields: every field of the run config (and of every algorithm's block) is read somewhere.

A field that is accepted and never read is the worst kind of bug: the user believes it worked. This
check is static: each field's name must appear as an attribute read (`cfg.runtime.seed`) or a string
key read (`settings["model"]`, `row.get("model")`) in the shipped code outside the schema modules.
"""

import ast
from pathlib import Path

from alignrl.config.loader import describe_fields as all_fields
from tests.conftest import builtin_algorithms

REPO = Path(__file__).resolve().parents[3]
SCHEMA = "alignrl/config/schema.py"  # its validators read fields only to check them; its helpers count
# Sections handed on whole as keyword arguments: every field must be a parameter of the consumer.
WHOLE = {"model.tiny": ("alignrl.models.tiny", "build_tiny_llama")}


def describe_fields():
    """Every field, but those of throw-away algorithms other test modules register."""
    builtin = builtin_algorithms()
    return [r for r in all_fields() if not r[0].startswith("algorithm[") or r[0][10:].split("]")[0] in builtin]


def _validator(node) -> bool:
    return any("validator" in ast.unparse(d) for d in getattr(node, "decorator_list", []))


def _reads() -> set[str]:
    names: set[str] = set()
    for folder in ("alignrl", "actors", "learners", "launch"):
        for path in (REPO / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            if str(path.relative_to(REPO)) == SCHEMA:
                for node in ast.walk(tree):
                    for child in ast.iter_child_nodes(node):
                        if _validator(child):
                            node.body = [b for b in node.body if b is not child]
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                    names.add(str(node.slice.value))
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                      and node.args and isinstance(node.args[0], ast.Constant)):
                    names.add(str(node.args[0].value))
    return names


def unread_fields(rows, reads: set[str]) -> list[str]:
    """Leaf fields (not sections) whose name is never read."""
    out = []
    for key, kind, _, _ in rows:
        if kind == "section" or key.rsplit(".", 1)[0] in WHOLE:
            continue
        name = key.rsplit(".", 1)[-1]
        if name not in reads and name.rstrip("_") not in reads:
            out.append(key)
    return out


def test_every_field_is_read_by_the_code():
    assert unread_fields(describe_fields(), _reads()) == []


def test_whole_sections_match_their_consumer():
    import importlib
    import inspect

    for section, (module, function) in WHOLE.items():
        params = inspect.signature(getattr(importlib.import_module(module), function)).parameters
        fields = [key.rsplit(".", 1)[-1] for key, kind, _, _ in describe_fields() if key.startswith(section + ".")]
        assert fields and all(f in params for f in fields), (section, fields)


def test_the_check_catches_a_dead_field():
    rows = describe_fields() + [("runtime.overlap_everything", "bool", "True", "a field nobody reads")]
    assert unread_fields(rows, _reads()) == ["runtime.overlap_everything"]
