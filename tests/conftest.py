"""Fixtures: a copy of the real project trained once per session, small projects."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest
from helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    HELPCENTER_SOURCE,
    Client,
    copy_project,
    serve,
    with_store,
    write_small_project,
)
from playwright.async_api import Browser, async_playwright
from redis_server import RedisServer, delete_keys

from bot.config.project import Project, load_project
from bot.config.settings import Settings, load_settings
from bot.dialogue.assistant import Assistant

# In CI the property tests try the same examples every run, so a red build is a
# reproducible bug rather than an unlucky draw; locally they explore new ones.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the real project (config, responses, faq/, intents/), never the repo."""
    return copy_project(tmp_path_factory.mktemp("project") / "pcpatrol")


@pytest.fixture(scope="session")
def trained_assistant(project_dir: Path) -> Assistant:
    """The assistant over the project copy; trains once and stores the model in the copy."""
    return Assistant.load(project_dir)


@pytest.fixture
def assistant(trained_assistant: Assistant) -> Assistant:
    """The session's assistant."""
    return trained_assistant


@pytest.fixture(scope="session")
def trained_project_dir(trained_assistant: Assistant, project_dir: Path) -> Path:
    """The project copy once its model file exists (CLI runs on it do not retrain)."""
    assert trained_assistant.project.settings.model_file.exists()
    return project_dir


@pytest.fixture(scope="session")
def real_project(project_dir: Path) -> Project:
    """The real project's settings, articles and responses (no model needed)."""
    return load_project(project_dir)


@pytest.fixture(scope="session")
def small_trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid project whose model is trained once for the session (never changed
    by tests: copy it to change it)."""
    project = write_small_project(tmp_path_factory.mktemp("small-trained") / "small")
    Assistant.load(project)
    return project


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    """A small valid project that trains in well under a second."""
    return write_small_project(tmp_path / "small")


@pytest.fixture(scope="session")
def helpcenter_source() -> str:
    """The published helpcenter category the articles come from."""
    if not HELPCENTER_SOURCE.exists():
        pytest.skip(f"{HELPCENTER_SOURCE} is not available")
    return HELPCENTER_SOURCE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def served_settings(trained_project_dir: Path) -> Settings:
    """config.yml of the trained project copy, as `pcpatrol-bot serve` reads it."""
    return load_settings(trained_project_dir)


@pytest.fixture
def web_settings(served_settings: Settings, tmp_path: Path) -> Settings:
    """The served settings with conversations in a fresh SQLite file of the test."""
    return with_store(served_settings, tmp_path / "conversations.sqlite3")


@pytest.fixture
async def client(web_settings: Settings) -> AsyncIterator[Client]:
    """aiohttp's test client on the real app (model of the project copy, SQLite in tmp)."""
    async with serve(web_settings) as running:
        yield running


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server for the session: $PCPATROL_TEST_REDIS_URL if set, otherwise a
    redis-server started on a free loopback port (appendonly yes) and stopped at the end."""
    configured = os.environ.get("PCPATROL_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own, so tests never see each other's keys; every key
    starting with it is deleted after the test."""
    prefix = f"pcpatrol-test-{uuid.uuid4().hex}"
    yield prefix
    delete_keys(redis_url, prefix)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's headless Chromium, driven through Playwright."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()
