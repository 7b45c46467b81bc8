"""Fixtures of the sandbox's tests."""

import pytest
from sandbox_support import DELAYS, Clock

from bird_sandbox import SandboxBackend


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_backend():
    """Builds backends with the settings given (SandboxBackend's arguments), each closed
    after the test."""
    made = []

    def make(**settings) -> SandboxBackend:
        made.append(SandboxBackend(**settings))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


@pytest.fixture
def backend(make_backend, clock):
    """A backend on the test's clock. Its timings are the defaults, stated: the tests count
    on these numbers, not on whatever the defaults become."""
    return make_backend(status_delays=DELAYS, reply_delay=1.0, clock=clock)


@pytest.fixture
def still_backend(make_backend):
    """A backend whose messages keep the status they were accepted with, on the real clock:
    for tests that compare stored messages with the answers to their requests."""
    return make_backend(status_delays=None)
