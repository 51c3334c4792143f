"""The upload side of the 1C exchange: per-session directories under the data dir,
chunked appends, and zip archives unpacked safely.

Every path comes from 1C's ``filename`` parameter, so each is checked to stay
inside its session directory: no ``..``, no absolute or drive paths, no symlink
escapes, and a zip is held to a total unpacked size (no zip bombs).
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")


class UnsafePath(ValueError):
    """A filename that would leave the session directory."""


@dataclass(frozen=True)
class OnecConfig:
    """The 1C exchange as the firm's site. ``step`` products/offers per ``import``
    call bounds each HTTP request's time (1C times out at a few minutes)."""

    secret_key: str
    data_dir: str = "./data/exchange"
    file_limit: int = 8 * 1024 * 1024
    zip: bool = True
    step: int = 5000
    max_unpacked: int = 2 * 1024 * 1024 * 1024
    session_ttl_s: int = 24 * 3600
    keep_days: int = 7
    timezone: str = "Europe/Moscow"

    @property
    def media_dir(self) -> Path:
        """Where product images received from 1C are kept and served from."""
        return Path(self.data_dir).resolve() / "media"


def session_dir(config: OnecConfig, key: str) -> Path:
    """The session's upload directory, created on first use."""
    root = Path(config.data_dir).resolve()
    path = safe_path(root, key)
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_path(root: Path, filename: str) -> Path:
    """``filename`` (1C sends ``import_files/ab/cd.jpg`` for images) under ``root``."""
    name = filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if (
        not name
        or "\x00" in name
        or name.startswith("/")
        or any(p in ("..", "") for p in parts)
        or (parts and ":" in parts[0])  # "C:..." on a Windows-made name
    ):
        raise UnsafePath(f"Недопустимое имя файла: {filename!r}")
    path = (root / PurePosixPath(*parts)).resolve()
    if not path.is_relative_to(root.resolve()):
        raise UnsafePath(f"Недопустимое имя файла: {filename!r}")
    return path


def append_chunk(directory: Path, filename: str, data: bytes) -> Path:
    """1C sends a file larger than ``file_limit`` as several requests: append them."""
    path = safe_path(directory, filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as fh:
        fh.write(data)
    return path


def clean_old_sessions(config: OnecConfig, *, now: float) -> int:
    """Drop session directories untouched for ``keep_days`` (1C never came back to
    them); the media directory stays. Returns how many were removed."""
    root = Path(config.data_dir).resolve()
    if not root.is_dir():
        return 0
    removed = 0
    for child in root.iterdir():
        if child.name == "media" or not child.is_dir() or child.is_symlink():
            continue
        if now - child.stat().st_mtime > config.keep_days * 86400:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed


def keep_images(directory: Path, media: Path) -> int:
    """Move received images (``import_files/ab/cd.jpg``) into the media directory
    under the same relative path; returns how many."""
    moved = 0
    for path in directory.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue  # only pictures are served; anything else 1C sent stays private
        relative = path.relative_to(directory).as_posix()
        target = safe_path(media, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
        moved += 1
    return moved


def clear(directory: Path) -> None:
    """``init`` starts a new exchange: the files of an earlier one are dropped."""
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def unpack_zips(directory: Path, max_unpacked: int) -> None:
    """Unpack every fully received ``*.zip`` into the directory, then delete it.

    Called at the first ``import``: only then does 1C promise the upload is complete.
    """
    for archive in sorted(directory.glob("*.zip")):
        total = 0
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                target = safe_path(directory, info.filename)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as dst:
                    while block := src.read(1 << 20):
                        total += len(block)  # counted as read: the header may lie
                        if total > max_unpacked:
                            raise UnsafePath("Архив распаковывается больше допустимого")
                        dst.write(block)
        archive.unlink()
