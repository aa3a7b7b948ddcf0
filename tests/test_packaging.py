"""Installs: the role folders at the repository root install inside `alignrl`, never as top-level packages."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAPPED = {"actors": "alignrl.actors", "learners": "alignrl.learners", "launch": "alignrl.launch"}


def _declared() -> set[str]:
    return set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def _on_disk() -> set[str]:
    found = set()
    for init in REPO.glob("**/__init__.py"):
        rel = init.parent.relative_to(REPO)
        top = rel.parts[0]
        if top == "alignrl":
            found.add(".".join(rel.parts))
        elif top in MAPPED:
            found.add(".".join((MAPPED[top], *rel.parts[1:])))
    return found


def test_every_package_is_listed():
    assert _on_disk() == _declared()


def test_wheel_holds_the_roles_inside_alignrl(tmp_path):
    had_build = (REPO / "build").exists()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True)
    if not had_build:  # setuptools builds in the checkout; leave no stale copy of the code behind
        shutil.rmtree(REPO / "build", ignore_errors=True)
    wheel = next(tmp_path.glob("alignrl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for path in ("alignrl/actors/generator.py", "alignrl/learners/group.py", "alignrl/launch/cli.py",
                 "alignrl/kinds/pairwise.py", "alignrl/transport/broadcast.py", "alignrl/generation/hf.py"):
        assert path in names
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"actors", "learners", "launch"}, tops
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "alignrl = alignrl.launch.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_generic_names_are_not_importable_from_the_install(tmp_path):
    """Outside the checkout, the installed env has alignrl.actors etc. and no `actors` of its own."""
    code = ("import importlib.util as u, alignrl.actors.generator, alignrl.launch.cli, alignrl.learners.group; "
            "print([n for n in ('actors', 'learners', 'launch') if u.find_spec(n)])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
