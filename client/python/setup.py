"""Builds agleader-credentials-client: the metadata is in pyproject.toml; this
only adds the stubs, generated from the bundled .proto files at build time."""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_stubs  # noqa: E402 pylint: disable=wrong-import-position


class BuildPyWithStubs(build_py):
    """build_py, then the generated modules into agleader_client/_gen."""

    def run(self):
        super().run()
        gen_stubs.generate(os.path.join(self.build_lib, "agleader_client", "_gen"))


setup(cmdclass={"build_py": BuildPyWithStubs})
