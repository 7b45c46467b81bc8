"""Fixtures of the sandbox's tests."""

import pytest
from sandbox_support import Clock


@pytest.fixture
def clock():
    return Clock()
