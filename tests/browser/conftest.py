"""Browser fixtures: the real service in a subprocess, the canned one in this process (tests/browser/canned.py),
headless Chromium through Selenium, and a chat page driver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.load import free_port
from tests.browser.canned import CannedServer, FollowUpAnswerer, as_remote, canned_answerer, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
DESKTOP = (1280, 900)
PHONE = (390, 844)
REPLY_TIMEOUT_S = 30
START_TIMEOUT_S = 120
TOKEN = "correct-horse-battery-staple"  # QA_API_TOKEN of the canned server that asks for one


@dataclass
class Server:
    """A `qa serve` subprocess on a free local port."""

    url: str
    process: subprocess.Popen
    log: Path

    def health(self) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(self.url + "health", timeout=2) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(workdir: Path, env: dict[str, str], is_up: Callable[[int, dict], bool]) -> Server:
    """Start `qa serve` and wait until `is_up(status, health)`; fail with the server's log otherwise."""
    port = free_port()
    log = workdir / "server.log"
    qa = Path(sys.executable).with_name("qa")
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(workdir / "index"), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(qa), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}/", process, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"qa serve exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            status, health = server.health()
        except (OSError, ValueError):
            status, health = 0, {}
        if is_up(status, health):
            return server
        if health.get("status") == "error":
            server.stop()
            pytest.fail(f"qa serve could not load its models: {health.get('detail')}\n{server.log_tail()}")
        time.sleep(0.5)
    server.stop()
    pytest.fail(f"qa serve not ready within {START_TIMEOUT_S} s:\n{server.log_tail()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service (default reader, seed documents) with its index in a temporary folder."""
    running = start_server(tmp_path_factory.mktemp("server"), {}, lambda status, _: status == 200)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def broken_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A service whose reader failed to load (its directory holds no model): it stays up, 503 on /ask."""
    workdir = tmp_path_factory.mktemp("broken-server")
    (workdir / "empty-reader").mkdir()
    env = {"QA_READER_MODEL": str(workdir / "empty-reader")}
    running = start_server(workdir, env, lambda status, health: status == 503 and health.get("status") == "error")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def driver() -> Iterator:
    """One headless Chromium for the session; each test starts from a fresh page and empty storage."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run `make browser` (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
    ):
        options.add_argument(argument)
    profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile.name}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    browser.execute_cdp_cmd("Network.enable", {})
    yield browser
    browser.quit()
    profile.cleanup()


class ChatPage:
    """What a user does on the chat page, in Selenium terms."""

    REPLY = ".turn-bot:not(.turn-typing)"

    def __init__(self, driver, url: str) -> None:
        self.driver = driver
        self.url = url

    def open(self, url: str | None = None) -> ChatPage:
        """Load the page with an empty conversation and wait until it knows what it can answer."""
        self.url = url or self.url
        self.driver.get(self.url)
        self.driver.execute_script("localStorage.clear(); sessionStorage.clear()")
        self.driver.get_log("browser")  # the console from here on is this test's
        self.driver.get(self.url)
        return self

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, condition: Callable, timeout: float = REPLY_TIMEOUT_S, message: str = ""):
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # A list the page re-renders while the condition reads it is read again on the next poll.
        wait = WebDriverWait(
            self.driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
        )
        return wait.until(lambda _: condition(), message)

    def wait_ready(self) -> None:
        """The service answered GET /documents and no turn is still fading in."""
        self.wait(
            lambda: self.find("#status").get_attribute("data-state") == "ready" and self.settled(),
            message="page never got ready",
        )

    def type(self, text: str) -> None:
        self.find("#question").send_keys(text)

    def ask(self, question: str):
        """Type `question`, press Enter and return the reply turn once it is shown."""
        from selenium.webdriver.common.keys import Keys

        before = len(self.replies())
        self.type(question)
        self.find("#question").send_keys(Keys.ENTER)
        return self.wait_reply(before)

    def wait_reply(self, replies_before: int):
        """The newest reply once there are more than `replies_before` and it has finished fading in."""
        self.wait(
            lambda: len(self.replies()) > replies_before and not self.find_all(".turn-typing") and self.settled(),
            message="no reply shown",
        )
        return self.replies()[-1]

    def settled(self) -> bool:
        """No entrance animation running (a fading-in turn has no visible text yet for Selenium)."""
        return self.driver.execute_script(
            "return document.getAnimations().every(a => a.effect.getTiming().iterations === Infinity)"
        )

    def replies(self) -> list:
        return self.find_all(self.REPLY)

    def questions(self) -> list[str]:
        return [e.text for e in self.find_all(".turn-user .question-text")]

    def turn_texts(self) -> list[str]:
        return [e.text for e in self.find_all("#turns > .turn")]

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def viewport(self, size: tuple[int, int], dark: bool = False) -> None:
        width, height = size
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        scheme = [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": scheme})

    def newest_turn_in_view(self) -> bool:
        """Whether the newest turn's top and bottom (or, if taller than the view, its top) are on screen."""
        return self.driver.execute_script(
            "const view = document.getElementById('conversation').getBoundingClientRect();"
            "const turn = document.querySelector('#turns > .turn:last-child').getBoundingClientRect();"
            "const topIn = turn.top >= view.top - 1 && turn.top < view.bottom;"
            "return topIn && (turn.bottom <= view.bottom + 1 || turn.height > view.height - 48);"
        )

    def screenshot(self, name: str) -> Path:
        """Save a screenshot to tests/artifacts once entrance animations and smooth scrolling are over."""
        self.wait(self.settled, timeout=5)
        time.sleep(0.4)  # smooth scrolling is not an animation the page can report
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path


@pytest.fixture
def chat(driver, server: Server) -> Iterator[ChatPage]:
    """The chat page of the real service at desktop size, with an empty conversation."""
    page = ChatPage(driver, server.url)
    page.viewport(DESKTOP)
    page.open()
    yield page
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


@pytest.fixture(scope="session")
def canned_reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FollowUpAnswerer]:
    """The canned answerer over two documents; the servers below share it, and its store."""
    answerer = canned_answerer(tmp_path_factory.mktemp("canned"))
    yield answerer
    answerer.store.close()


def _canned_server(answerer: FollowUpAnswerer, remote: bool = False, **settings) -> CannedServer:
    from api.app import create_app
    from qa.settings import Settings

    # An upload cut into more than 2 passages is indexed in the background (202), as a large one is.
    app = create_app(Settings(upload_wait_passages=2, **settings), answerer=answerer)
    return serve(as_remote(app) if remote else app, answerer)


@pytest.fixture(scope="session")
def canned_server(canned_reader: FollowUpAnswerer) -> Iterator[CannedServer]:
    """The app with canned answers, reached from this machine: documents may be changed without a token."""
    running = _canned_server(canned_reader)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def remote_server(canned_reader: FollowUpAnswerer) -> Iterator[CannedServer]:
    """The same, as a client on another machine reaches it: documents cannot be changed from there."""
    running = _canned_server(canned_reader, remote=True)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def token_server(canned_reader: FollowUpAnswerer) -> Iterator[CannedServer]:
    """The same with QA_API_TOKEN set: changing documents needs `Authorization: Bearer TOKEN`."""
    running = _canned_server(canned_reader, api_token=TOKEN)
    yield running
    running.stop()


@pytest.fixture
def canned_chat(driver, canned_server: CannedServer) -> Iterator[ChatPage]:
    """The chat page of the canned service at desktop size, with an empty conversation; uploads are removed after."""
    page = ChatPage(driver, canned_server.url)
    page.viewport(DESKTOP)
    canned_server.answerer.asked.clear()
    page.open()
    yield page
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    with urllib.request.urlopen(canned_server.url + "documents") as response:
        uploads = [d["id"] for d in json.load(response)["documents"] if d["source"] == "upload"]
    for doc_id in uploads:
        request = urllib.request.Request(f"{canned_server.url}documents/{doc_id}", method="DELETE")
        urllib.request.urlopen(request).close()
