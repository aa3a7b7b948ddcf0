"""Layers point down, and the runtime never names an algorithm.

core (alignrl/*, but runtime and bench) -> actors/, learners/ -> alignrl/runtime -> bench, launch.
Only alignrl/runtime/wiring.py knows the actor classes; the algorithm math imports no Ray.
"""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UPPER = ("alignrl.runtime", "alignrl.bench", "alignrl.launch")
ROLES = ("alignrl.actors", "alignrl.learners")


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def _offenders(paths, banned) -> list[str]:
    return [f"{p.relative_to(REPO)} imports {m}" for p in paths for m in sorted(_imports(p))
            if any(m == b or m.startswith(b + ".") for b in banned)]


def test_actors_and_learners_import_nothing_above_them():
    assert _offenders(_modules("actors") + _modules("learners"), UPPER) == []


def test_core_imports_neither_roles_nor_runtime():
    core = [p for p in _modules("alignrl") if p.relative_to(REPO).parts[1] not in ("runtime", "bench")]
    assert _offenders(core, UPPER + ROLES) == []


def test_only_the_wiring_module_knows_the_actor_classes():
    users = [p for p in _modules("alignrl") + _modules("launch") if _offenders([p], ("alignrl.actors",))]
    assert [str(p.relative_to(REPO)) for p in users] == ["alignrl/runtime/wiring.py"]


def test_algorithm_math_imports_no_ray():
    assert _offenders(_modules("alignrl/algorithms"), ("ray",)) == []


def test_the_runtime_names_no_algorithm():
    pattern = re.compile(r"""["'](realign|simplemix|slic|wpo|grpo|dr_grpo|dpo|iterative_dpo|ipo|simpo|var|rao)["']"""
                         r"""|algorithm\.name\s*==|spec\.name\s*==|params\.name\s*==""")
    hits = [f"{p.relative_to(REPO)}:{i}: {line.strip()}"
            for folder in ("alignrl/runtime", "alignrl/learning", "alignrl/kinds", "actors", "learners")
            for p in _modules(folder) for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []
