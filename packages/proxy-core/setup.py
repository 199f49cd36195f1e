"""Build the optional C accelerator of ``proxystore.proxy``.

Everything else is declared in ``pyproject.toml``. The extension is ``optional``:
where no C compiler is available the build still succeeds and ``proxystore.proxy``
runs on its pure-Python implementation.
"""

from setuptools import Extension
from setuptools import setup

setup(
    ext_modules=[
        Extension(
            'proxystore.proxy._cproxy',
            sources=['src/proxystore/proxy/_cproxy.c'],
            optional=True,
        ),
    ],
)
