from __future__ import annotations

from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "playbooks"


@pytest.fixture
def water(pm, site):
    """Site CH with grid W (owner S2) and the test playbook installed."""
    pm("grid", "add", "W", "--name", "水泵房", "--owner", "S2")
    pm("playbook", "import", str(FIXTURE / "test.water-daily.yaml"))
    return "test.water-daily"


@pytest.fixture
def photo(write_file):
    return write_file("dpd.jpg", b"\xff\xd8\xff\xe0fake-jpeg-bytes")


@pytest.fixture
def started(pm, water):
    return pm.json("run", "start", water, "--grid", "W", "--by", "S1")
