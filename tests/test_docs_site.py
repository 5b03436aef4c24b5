"""The documentation site lists every page and documents every module of the package."""

from __future__ import annotations

import re

from helpers import ROOT

CONFIG = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_every_page_is_in_the_sites_navigation() -> None:
    pages = {path.relative_to(ROOT / "docs").as_posix() for path in (ROOT / "docs").rglob("*.md")}
    listed = set(re.findall(r":\s*([\w/-]+\.md)\s*$", CONFIG, flags=re.MULTILINE))
    assert pages == listed


def test_the_api_reference_covers_every_public_module_of_the_layers() -> None:
    reference = "".join(
        path.read_text(encoding="utf-8") for path in (ROOT / "docs" / "api").glob("*.md")
    )
    documented = set(re.findall(r"^::: (\S+)$", reference, flags=re.MULTILINE))
    wanted = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for layer in ("core", "tools", "learning", "tutorial")
        for path in (ROOT / "tinygrad_gd" / layer).glob("*.py")
        if not path.name.startswith("_")
    }
    assert wanted - documented == set()


def test_the_license_is_the_one_the_package_declares() -> None:
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
