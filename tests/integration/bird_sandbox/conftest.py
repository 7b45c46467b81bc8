"""Fixtures of the sandbox's HTTP tests."""

import pytest
import requests
from sandbox_support import AUTH, Clock

from bird_sandbox import BirdSandbox


@pytest.fixture
def sandbox():
    # Messages keep the status they were accepted with: these tests compare stored messages
    # with the answers to their POSTs. The status lifecycle has tests of its own.
    with BirdSandbox(status_delays=None) as running:
        yield running


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


@pytest.fixture
def clock():
    return Clock()
