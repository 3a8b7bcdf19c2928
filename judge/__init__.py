"""Well-formedness of ABC tunes as judged by abcjs under Node (see abcjs_judge.js)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "abcjs_judge.js"


def node_available() -> bool:
    return shutil.which("node") is not None


def judge_tunes(tunes: list[str]) -> list[dict]:
    """One verdict per tune: {"ok": bool, "reasons": [...], "bars": int}."""
    if not node_available():
        raise RuntimeError("Node.js is needed to judge tunes with abcjs (install nodejs)")
    done = subprocess.run(["node", str(SCRIPT)], input=json.dumps(tunes), capture_output=True, text=True,
                          check=True, timeout=600)
    return json.loads(done.stdout)
