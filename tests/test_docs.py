"""The README's indicator dictionary is generated from the registry and must not drift from it."""

from flows.render.dictionary import README, render_readme
from flows.stages.s07_indicators import registry


def test_readme_indicator_dictionary_is_up_to_date_with_the_registry():
    text = README.read_text(encoding="utf-8")
    assert text == render_readme(text), "README is stale: run `make docs`"
    for indicator in registry():
        assert f"`{indicator.code}`" in text
