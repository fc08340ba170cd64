"""The wheel carries what the runtime reads (SQL, registries, suites, templates, vendored assets, config), so an
installed package runs away from the checkout.

Night layer: the installed wheel runs as a clusterwatch process of its own (the `night` marker's definition), and
building and installing it is mostly waiting on files (≈18 s of wall time for 4 s of CPU)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.night

ROOT = Path(__file__).resolve().parent.parent
# What a build needs of the checkout: the package, its metadata and the folders flows/resources links to.
BUILD_INPUTS = ("pyproject.toml", "README.md", "flows", "sql", "expectations", "reports/templates", "reports/vendor",
                "config", "data/reference")


def build_wheel(tmp: Path) -> Path:
    """Build the wheel from a copy of the checkout (the build writes build/ and egg-info beside its sources)."""
    src = tmp / "src"
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "out", "uncommitted"))
        else:
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "build", "--wheel", "-q", "-o", str(tmp / "dist"), str(src)], check=True,
                   capture_output=True, text=True, timeout=600)
    [wheel] = (tmp / "dist").glob("clusterwatch-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


def test_the_wheel_holds_every_resource_the_runtime_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    checkout = {f"flows/resources/sql/{p.relative_to(ROOT / 'sql')}" for p in (ROOT / "sql").rglob("*.sql")}
    checkout |= {f"flows/resources/templates/{p.name}" for p in (ROOT / "reports" / "templates").iterdir()}
    checkout |= {f"flows/registry/{p.name}" for p in (ROOT / "flows" / "registry").glob("*.toml")}
    checkout |= {f"flows/resources/expectations/gx/expectations/{p.name}"
                 for p in (ROOT / "expectations" / "gx" / "expectations").glob("*.json")}
    checkout |= {"flows/resources/expectations/gx/great_expectations.yml", "flows/resources/config/sources.toml",
                 "flows/resources/reference/global_clusters.csv", "flows/resources/vendor/data_docs/README.md"}
    assert checkout - names == set()


def test_an_installed_wheel_checks_a_file_outside_the_checkout(wheel, tmp_path):
    """Install the wheel into a throwaway target and run `clusterwatch check` on a sample file from there: the
    SQL schema, the suites, the vocabulary and the source config all come from the installed package."""
    target = tmp_path / "target"
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True, timeout=600)
    sample = next((ROOT / "data" / "sample" / "inbox").glob("tax_*.csv"))
    inbox = shutil.copy2(sample, tmp_path / sample.name)
    run = tmp_path / "elsewhere"
    run.mkdir()
    code = ("import sys, flows, flows.support.settings as s; from flows.cli import main; "
            "print('PACKAGE', flows.__file__, s.SQL_DIR.resolve(), s.EXPECTATIONS_DIR.resolve()); "
            f"sys.exit(main(['check', {str(inbox)!r}]))")
    env = {**os.environ, "PYTHONPATH": str(target), "CLUSTERWATCH_REPORTS": str(tmp_path / "out")}
    out = subprocess.run([sys.executable, "-c", code], cwd=run, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode in (0, 1), out.stderr       # 1: the sample plants bad rows, which check reports
    package_line = next(line for line in out.stdout.splitlines() if line.startswith("PACKAGE"))
    assert str(ROOT) not in package_line and package_line.count(str(target)) == 3, package_line
    assert f"== {sample.name} (tax)" in out.stdout and "summary: 1 files" in out.stdout, out.stdout[-2000:]
