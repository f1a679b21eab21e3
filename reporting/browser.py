"""Headless Chromium (Debian's ``chromium`` package) for the report: print it to PDF, and
open it the way a person would, recording what the browser saw.

No browser-automation package: PDF printing is Chromium's own ``--print-to-pdf``, and
:func:`inspect_page` speaks the DevTools protocol over a WebSocket (the ``websockets``
package, already in the lock file through Airflow's web server) to collect console
messages, exceptions and network requests, evaluate an expression in the page and take a
full-page screenshot.

The flags are the ones this machine needs (no sandbox as root, no GPU, no background
networking: the closed network refuses Chromium's own connections), and every run gets a
new, empty profile.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


class BrowserError(RuntimeError):
    """Chromium is missing, did not start, or did not answer in time."""


def chromium_path() -> str | None:
    """The Chromium binary: ``$BEACON_CHROMIUM``, else ``chromium`` (Debian) or a Chrome on
    the PATH."""
    explicit = os.environ.get("BEACON_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _require() -> str:
    path = chromium_path()
    if path is None:
        raise BrowserError(
            "Chromium not found: install Debian's chromium package (apt-get install -y "
            "chromium) or set BEACON_CHROMIUM"
        )
    return path


def print_pdf(html: Path, pdf: Path, timeout: float = 120) -> Path:
    """Print ``html`` to ``pdf`` (A4, the page's print styles)."""
    chromium = _require()
    with tempfile.TemporaryDirectory(prefix="beacon-chromium-") as profile:
        tmp = pdf.with_name(f".{pdf.name}.{os.getpid()}.tmp")
        subprocess.run(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={tmp}",
                Path(html).resolve().as_uri(),
            ],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise BrowserError(f"Chromium wrote no PDF for {html}")
        os.replace(tmp, pdf)
    return pdf


@dataclass
class PageVisit:
    """What the browser saw when it opened a page."""

    console: list[dict[str, Any]] = field(default_factory=list)  # level, text
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    result: Any = None  # the evaluated expression's value
    screenshot: Path | None = None

    @property
    def errors(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions (what should never happen)."""
        return [
            f"console.{m['level']}: {m['text']}"
            for m in self.console
            if m["level"] in ("error", "warning", "assert")
        ] + [f"exception: {x}" for x in self.exceptions]


class _DevTools:
    """A minimal DevTools-protocol client over one WebSocket (flat sessions)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(
        self, method: str, params: dict | None = None, session: str | None = None, timeout=60.0
    ) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            data = self._receive(deadline, method)
            if data.get("id") == self.next_id:
                if "error" in data:
                    raise BrowserError(f"{method}: {data['error']}")
                return data.get("result", {})
            self.events.append(data)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            data = self._receive(deadline, method)
            self.events.append(data)
            if data.get("method") == method:
                return data

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrowserError(f"Chromium did not answer {waiting_for} in time")
        try:
            return json.loads(self.ws.recv(timeout=remaining))
        except TimeoutError as exc:
            raise BrowserError(f"Chromium did not answer {waiting_for} in time") from exc


@contextlib.contextmanager
def _chromium_with_devtools(timeout: float) -> Iterator[str]:
    """Start Chromium with a DevTools port; yield the browser's WebSocket URL."""
    chromium = _require()
    with tempfile.TemporaryDirectory(prefix="beacon-chromium-") as profile:
        process = subprocess.Popen(
            [
                chromium,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped whole, helpers included
        )
        try:
            # Chromium writes the port it chose and the browser's path into the profile
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while True:
                if port_file.exists():
                    lines = port_file.read_text().split()
                    if len(lines) >= 2:
                        break
                if process.poll() is not None:
                    raise BrowserError(f"Chromium exited at start (code {process.returncode})")
                if time.monotonic() > deadline:
                    raise BrowserError("Chromium did not open its DevTools port in time")
                time.sleep(0.05)
            yield f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop the Chromium this module started: its process group, politely, then for good."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def inspect_page(
    url: str,
    *,
    expression: str | None = None,
    screenshot: Path | None = None,
    width: int = 1366,
    height: int = 768,
    timeout: float = 90,
) -> PageVisit:
    """Open ``url`` in a ``width`` × ``height`` window (a laptop screen by default), wait for
    it to load, evaluate ``expression`` (its JSON value in ``result``), take a full-page
    PNG ``screenshot``; record console messages, exceptions and requests throughout."""
    from websockets.sync.client import connect

    visit = PageVisit()
    with _chromium_with_devtools(timeout) as ws_url, connect(ws_url, max_size=None) as ws:
        cdp = _DevTools(ws)
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(f"{domain}.enable", session=session)
        cdp.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        cdp.events.clear()
        cdp.call("Page.navigate", {"url": url}, session=session)
        cdp.wait_for("Page.loadEventFired", timeout)
        if expression is not None:
            answer = cdp.call(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True, "awaitPromise": True},
                session=session,
            )
            if "exceptionDetails" in answer:
                raise BrowserError(f"the expression failed: {answer['exceptionDetails']}")
            visit.result = answer["result"].get("value")
        if screenshot is not None:
            size = cdp.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = cdp.call(
                "Page.captureScreenshot",
                {
                    "format": "png",
                    "captureBeyondViewport": True,
                    "clip": {
                        "x": 0,
                        "y": 0,
                        "width": max(size["width"], width),
                        "height": size["height"],
                        "scale": 1,
                    },
                },
                session=session,
                timeout=timeout,
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            visit.screenshot = screenshot
        for event in cdp.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
                visit.console.append({"level": params.get("type"), "text": text})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                visit.console.append({"level": entry.get("level"), "text": entry.get("text")})
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                visit.exceptions.append(
                    details.get("exception", {}).get("description") or details.get("text", "")
                )
            elif method == "Network.requestWillBeSent":
                visit.requests.append(params.get("request", {}).get("url", ""))
        with contextlib.suppress(Exception):
            cdp.call("Browser.close", timeout=5)
    return visit
