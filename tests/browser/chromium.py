"""Open a local HTML file in headless Chromium: a screenshot, the rendered DOM and the console messages.

Debian's chromium (``scripts/install_browser.sh``) at /usr/bin/chromium. Every run gets a fresh profile
directory and network-quiet flags; the page itself must not need the network (the report is
self-contained), so a failed load shows up as a console error.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0")
# Chromium logs page console messages as "...:INFO:CONSOLE:<line>] "<message>", source: <url> (<line>)"
_CONSOLE = re.compile(r':CONSOLE(?:\(\d+\))?[^\]]*\]\s*(.*)$')


def chromium_path() -> str | None:
    """The chromium binary, or None when it is not installed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


@dataclass
class BrowserResult:
    dom: str  # the DOM after load, serialised by the browser (--dump-dom)
    console: list[str]  # every console message the page produced (errors, uncaught exceptions, CSP reports)
    screenshot: Path | None
    stderr: str

    def errors(self) -> list[str]:
        """Console messages plus uncaught exceptions: a self-contained page with no script has none."""
        extra = [l for l in self.stderr.splitlines() if "Uncaught" in l and not _CONSOLE.search(l)]
        return self.console + extra


def open_in_chromium(page: Path, screenshot: Path | None = None, window: tuple[int, int] = (1280, 2000),
                     timeout: float = 90.0) -> BrowserResult:
    """Load ``page`` (a local file) once: dump its DOM, collect console messages, optionally screenshot it."""
    exe = chromium_path()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (run scripts/install_browser.sh)")
    page = Path(page).resolve()
    with tempfile.TemporaryDirectory(prefix="tm-chromium-") as profile:
        cmd = [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={window[0]},{window[1]}"]
        if screenshot is not None:
            screenshot = Path(screenshot).resolve()
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if screenshot.exists():
                screenshot.unlink()
            cmd.append(f"--screenshot={screenshot}")
        cmd += ["--dump-dom", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "HOME": profile})
    console = [m.group(1) for line in proc.stderr.splitlines() if (m := _CONSOLE.search(line))]
    if proc.returncode != 0 and not proc.stdout:
        raise RuntimeError(f"chromium failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    shot = screenshot if screenshot is not None and screenshot.exists() else None
    return BrowserResult(dom=proc.stdout, console=console, screenshot=shot, stderr=proc.stderr)
