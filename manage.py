#!/usr/bin/env python3
"""Two commands for a fresh clone (standard library only, works on Linux, macOS and Windows):

    python3 manage.py demo     # own virtual environment, SQLite, demo contest, serves http://127.0.0.1:5000
    python3 manage.py test     # own virtual environment, the whole test suite (extra args go to pytest)
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv(requirements: str) -> None:
    """Create .venv and install the requirements; reinstall only when the files changed."""
    if not PYTHON.exists():
        print(f"创建虚拟环境 / creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = [ROOT / "requirements.txt", ROOT / "requirements-dev.txt"]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files) + requirements.encode()).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"安装依赖 / installing {requirements}", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", str(ROOT / requirements)], check=True)
    stamp.write_text(digest)


def flask(*args: str, env: dict | None = None) -> None:
    subprocess.run([str(PYTHON), "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, check=True, env=env)


def demo(argv: list[str]) -> int:
    port = argv[0] if argv else os.environ.get("PORT", "5000")
    ensure_venv("requirements.txt")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # the demo always runs on the embedded SQLite file in instance/
    flask("db", "upgrade", env=env)
    flask("demo", env=env)
    flask("prepare-fonts", env=env)  # about 25 s the first time, then cached in instance/fonts
    print(f"打开 / open http://127.0.0.1:{port}  （Ctrl+C 停止 / to stop）", flush=True)
    return subprocess.call([str(PYTHON), "-m", "waitress", "--listen", f"127.0.0.1:{port}", "--threads", "8",
                            "wsgi:app"], cwd=ROOT, env=env)


def test(argv: list[str]) -> int:
    ensure_venv("requirements-dev.txt")
    return subprocess.call([str(PYTHON), "-m", "pytest", *argv], cwd=ROOT)


def main() -> int:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
