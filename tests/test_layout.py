"""README's "Code layout" names every module and package of webapp/ and every top-level folder, and nothing else.

An entry is a line of the layout's code block whose name column (up to the first two spaces) lists names:
`x.py` for a module, `x/` for a package or folder. Under `webapp/`, entries are indented by two spaces;
continuation lines (deeper) and `-- headings --` name nothing. A new module fails this test until its
line is added.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "webapp"
FOLDERS = ("migrations", "templates", "static", "deploy", "docs", "tests", "benchmarks")


def layout_names() -> tuple[set[str], set[str]]:
    """Names README's layout gives under webapp/ (e.g. "cli.py", "wechat/mp/") and at the top level."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Code layout", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    inside, top = set(), set()
    for line in block.splitlines()[1:]:
        indent = len(line) - len(line.lstrip(" "))
        names_column = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        if not names_column or names_column.startswith("--") or indent > 2:
            continue
        names = {n.strip() for n in names_column.split(",")}
        if indent == 0:
            top |= {n for n in names if n != "webapp/"}
        else:
            inside |= names
    return inside, top


def test_the_layout_names_every_module_and_package_of_webapp() -> None:
    modules = {p.name for p in PACKAGE.glob("*.py")}
    packages = {f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    subpackages = {f"{p.parent.name}/{p.name}/" for p in PACKAGE.glob("*/*") if (p / "__init__.py").exists()}
    data = {"locale/"}
    inside, _top = layout_names()
    assert inside == modules | packages | subpackages | data


def test_the_layout_names_every_top_level_folder() -> None:
    _inside, top = layout_names()
    assert top == {f"{name}/" for name in FOLDERS}
    assert all((REPO / name).is_dir() for name in FOLDERS)


def test_a_module_missing_from_the_layout_would_be_seen() -> None:
    inside, _top = layout_names()
    assert "cli.py" in inside and "wechat/mp/" in inside  # the parser reads real entries
    assert "service.py" not in inside  # names in descriptions (wechat's service.py) are not entries
