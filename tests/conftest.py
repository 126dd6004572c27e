"""Shared fixtures: TensorFlow in graph mode, quiet, and small resolved configs."""

import pytest

from cli import import_tensorflow
from config import resolve_config

import_tensorflow()


@pytest.fixture
def make_config():
    """Return a function that resolves the code defaults plus `key=value` overrides."""
    def make(*overrides: str):
        return resolve_config(None, overrides)
    return make
