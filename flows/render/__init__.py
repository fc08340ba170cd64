"""Rendering: maps, charts, the chain diagram, narrative text, safe text, offline Data Docs and the
README's indicator dictionary. The stages decide what to show; these modules draw it."""
