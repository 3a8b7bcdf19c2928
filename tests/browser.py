"""Finding a Chromium for the browser tests: Debian's `chromium`, else Playwright's own download."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

# Headless flags that keep Chromium off the network (this machine reaches package registries only).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]
HOW_TO_GET = ("no Chromium for the browser tests: install Debian's (`apt-get install chromium`) or "
              "Playwright's (`python -m playwright install chromium`), or name one in TUNESMITH_CHROMIUM")


def chromium_path(playwright) -> str | None:
    """$TUNESMITH_CHROMIUM, Debian's chromium, or the one `playwright install chromium` downloaded."""
    named = os.environ.get("TUNESMITH_CHROMIUM")
    if named:
        return named
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    try:
        own = playwright.chromium.executable_path
    except Exception:  # noqa: BLE001 - Playwright without its browsers
        return None
    return own if own and Path(own).exists() else None
