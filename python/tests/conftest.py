"""Shared fixtures: a private shared-memory prefix per test (isolated "hosts"), the Rust
binaries of the workspace, and cleanup of shared-memory files."""

from __future__ import annotations

import os
import pathlib
import subprocess
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"


@pytest.fixture
def prefix() -> str:
    tag = f"py{uuid.uuid4().hex[:8]}_"
    yield tag
    for f in pathlib.Path("/dev/shm").glob(f"{tag}*"):
        f.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def binaries() -> pathlib.Path:
    """The workspace's debug binaries (talker, listener, omni-mesh), built once."""
    subprocess.run(
        ["cargo", "build", "-q", "-p", "omni-mesh-nodes", "--bins"],
        cwd=ROOT,
        check=True,
    )
    return TARGET
