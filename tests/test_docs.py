"""Every document the code, configs and README cite is in the repository, and every cited section exists."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Documents: anything under docs/, and upper-case names like README; output files such as
# bench.md are not documents.
CITED = re.compile(r"(?<![\w/])(docs/[\w/.-]+\.md|[A-Z][A-Z_]+\.md)(?: (§[0-9]+[A-Z]?))?")


def _sources() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    for folder in ("alignrl", "actors", "learners", "launch", "configs", "tests"):
        files += sorted(p for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".yaml"))
    return files


def test_cited_documents_and_sections_exist():
    missing = []
    for path in _sources():
        for doc, section in CITED.findall(path.read_text()):
            target = REPO / doc
            if not target.is_file():
                missing.append(f"{path.relative_to(REPO)} cites {doc}")
            elif section and not re.search(rf"^#+ {section[1:]}\. ", target.read_text(), re.M):
                missing.append(f"{path.relative_to(REPO)} cites {doc} {section}")
    assert missing == []
