"""Files that appear whole: content is written to a temporary file beside its destination (same
folder, so same file system), flushed to disk and given the usual mode, then renamed or linked into
place by the caller; a reader sees the old file, or no file, or the new one, never a part."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def staged(folder: Path, name: str, content: str) -> Path:
    """``content`` in a new hidden temporary file in ``folder`` (``.<name>.<random>.tmp``), on disk."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=folder, prefix=f".{name}.", suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(content)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.chmod(tmp.name, 0o644)  # tempfile makes it 0600; the others in the folder are 0644
    return Path(tmp.name)


def sync_folder(folder: Path) -> None:
    """Make a rename or link in ``folder`` reach the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
