"""The user docs (README.md, docs/*.md and the READMEs they link to) point at what exists:
every relative link names a file, every anchor a heading of it, and the resilience
suite's table names every file of the suite; the seed examples they show are files the
seed command takes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = (
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "reconciler/emulator/README.md",
    ROOT / "examples/github-actions/README.md",
)


def anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the headings of `document` (outside fenced blocks)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in document.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        heading = re.match(r"#{1,6} (.*)", line)
        if fenced or heading is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading[1].strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(f"{slug}-{count}" if count else slug)
    return found


def test_every_link_of_the_docs_names_a_file_and_a_heading_of_it() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append(f"{document.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{document.name}: {target} (no such heading)")
    assert broken == []


def test_the_resilience_doc_names_every_file_of_the_suite() -> None:
    table = (ROOT / "docs/resilience.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in (ROOT / "tests/resilience").glob("test_*.py"))
    assert [name for name in files if f"| `{name}` |" not in table] == []


def test_the_seeding_docs_csv_example_is_valid_for_the_example_manifests(tmp_path: Path) -> None:
    """docs/seeding.md's CSV example, run as written, had every row refused: it named no
    environment, and the seed command was given none."""
    from tests.support.cli import run_cli

    text = (ROOT / "docs/seeding.md").read_text(encoding="utf-8")
    example = re.search(r"```csv\n(.*?)```", text, re.DOTALL)
    assert example is not None
    seeds = tmp_path / "seeds.csv"
    seeds.write_text(example[1], encoding="utf-8")
    result = run_cli("seed", seeds, ROOT / "manifests", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 read, 2 valid, 0 rejected" in result.stdout, result.stdout


def seed_examples(document: Path) -> list[str]:
    """The JSONL seed examples of `document`: its ```json blocks of users (seeds)."""
    blocks = re.findall(r"```json\n(.*?)```", document.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if '"calculated_attributes"' in block]


@pytest.mark.parametrize("document", ["README.md", "docs/seeding.md"])
def test_the_jsonl_seed_examples_are_jsonl_valid_for_the_example_manifests(
    document: str, tmp_path: Path
) -> None:
    """docs/seeding.md's JSONL example was one user pretty-printed over five lines: saved
    as a seed file, as its section says a file is, each of its lines was refused as "not
    valid JSON"."""
    from tests.support.cli import run_cli

    examples = seed_examples(ROOT / document)
    assert examples, f"{document} has no JSONL seed example"
    for number, example in enumerate(examples):
        seeds = tmp_path / f"seeds{number}.jsonl"
        seeds.write_text(example, encoding="utf-8")
        users = len([line for line in example.splitlines() if line.strip()])
        result = run_cli("seed", seeds, ROOT / "manifests", "--dry-run")
        assert result.exit_code == 0, result.output
        assert f"{users} read, {users} valid, 0 rejected" in result.stdout, result.stdout
