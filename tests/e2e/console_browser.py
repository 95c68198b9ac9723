"""Helpers of the console's browser tests: the console served by uvicorn on loopback in a
thread, and headless Debian Chromium driven through chromedriver (selenium)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from sync.ui.app import build_app
from sync.ui.context import Console

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SKIP_REASON = "chromium and chromium-driver not installed: apt-get install chromium chromium-driver"
SHOTS = os.environ.get("VALUESYNC_SCREENSHOTS")
"""A folder to save the documentation's screenshots in (unset: none are saved)."""


class ConsoleServer:
    """The console of a project, served on 127.0.0.1 until `stop`."""

    def __init__(self, console: Console) -> None:
        self.console = console
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        config = uvicorn.Config(
            build_app(console),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ConsoleServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started, "the console did not start"
        return self

    def stop(self) -> None:
        for job in list(self.console.jobs._jobs.values()):
            self.console.jobs.wait(job.id, 120)
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.console.close()


def chrome() -> Any:
    """Headless Chromium through Debian's chromedriver (no driver download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    return driver


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as exc:  # the element is being swapped by htmx: try again
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}: {last!r}")


def screenshot(driver: Any, name: str) -> None:
    """Save the page for the documentation when VALUESYNC_SCREENSHOTS names a folder."""
    if SHOTS:
        folder = Path(SHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(folder / name))
