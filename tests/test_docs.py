"""The docs stay true: the README's indicator dictionary follows the registry, and every section the code cites
exists in docs/architecture.md."""

import re

from flows.render.dictionary import README, render_readme
from flows.support.registry import registry


def test_readme_indicator_dictionary_is_up_to_date_with_the_registry():
    text = README.read_text(encoding="utf-8")
    assert text == render_readme(text), "README is stale: run `make docs`"
    for indicator in registry():
        assert f"`{indicator.code}`" in text


ROOT = README.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"
CITING = ("flows/**/*.py", "flows/**/*.toml", "flows/**/*.md", "sql/**/*.sql", "tests/*.py", "bench/*.py",
          "reports/templates/*", "README.md", "docs/*.md")
CITATION = re.compile(r"docs/architecture\.md#([\w-]+)((?:(?:, |/)#[\w-]+)*)")


def anchors(markdown: str) -> set[str]:
    """The anchors a markdown renderer gives the headings: lower case, punctuation dropped, spaces as hyphens."""
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)}


def citations() -> dict[str, set[str]]:
    """Every architecture section the code, SQL, registries, templates and docs cite, with the files citing it."""
    out: dict[str, set[str]] = {}
    for pattern in CITING:
        for path in ROOT.glob(pattern):
            if path.is_file() and "resources" not in path.parts:
                for m in CITATION.finditer(path.read_text(encoding="utf-8")):
                    for slug in [m.group(1), *re.findall(r"#([\w-]+)", m.group(2))]:
                        out.setdefault(slug, set()).add(str(path.relative_to(ROOT)))
    return out


def test_every_section_the_code_cites_exists_in_the_architecture_page():
    cited = citations()
    assert {"input-contract", "indicators", "stable-names", "disclosure-control"} <= set(cited)
    missing = {slug: files for slug, files in cited.items() if slug not in anchors(ARCHITECTURE.read_text("utf-8"))}
    assert missing == {}, f"cited sections that docs/architecture.md does not have: {missing}"


def test_the_code_cites_no_document_outside_the_repository():
    outside = "DESIGN " + "§"      # the contract's old section numbers, in a document the repository does not hold
    found = [str(p.relative_to(ROOT)) for pattern in CITING for p in ROOT.glob(pattern)
             if p.is_file() and "resources" not in p.parts and outside in p.read_text(encoding="utf-8")]
    assert found == []
