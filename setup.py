"""Build hook: the wheel carries the top-level ``fixtures/`` inside the package.

The repository keeps one copy of the default fixture data, ``fixtures/<vendor>.yaml`` at the top level
(what ``make run`` serves and what users read and copy). An installed wheel has no checkout around it,
so ``build_py`` copies those files to ``mock_server/fixtures/`` in the build tree; the wheel ships them
from there and :mod:`mock_server.settings` finds them. Editable installs read the top-level directory
directly. Everything else about the build is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "fixtures"
SHIPPED = ("*.yaml", "README.md")


class BuildPyWithFixtures(build_py):
    """``build_py`` plus the copy of ``fixtures/`` to ``<build_lib>/mock_server/fixtures/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads fixtures/ from the checkout itself
        target = Path(self.build_lib, "mock_server", "fixtures")
        target.mkdir(parents=True, exist_ok=True)
        for pattern in SHIPPED:
            for file in sorted(SOURCE.glob(pattern)):
                shutil.copyfile(file, target / file.name)


setup(cmdclass={"build_py": BuildPyWithFixtures})
