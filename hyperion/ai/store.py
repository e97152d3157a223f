"""Model stores: model bytes addressed by their keccak256 content hash.

The chain records only a model's hash; a node keeps the bytes here. Two
stores share one interface: ``MemoryModelStore`` (tests, in-process chains)
and ``DirectoryModelStore`` (``<dir>/<hash hex>.hqm`` files, read lazily, so a
file dropped in by ``hyperion model register`` is seen by a running node).
Both verify the hash of what they return and cache the decoded, prepared
``Runner`` so the precompile decodes each model once.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator, Optional

from hyperion.ai.engine import Runner
from hyperion.ai.errors import ModelFormatError, UnknownModel
from hyperion.ai.model import QuantizedModel, decode_model, model_hash

MODEL_SUFFIX = ".hqm"


class ModelStore:
    """Base: subclasses provide ``_load_bytes``, ``_save_bytes`` and ``hashes``."""

    def __init__(self) -> None:
        self._runners: dict[bytes, Runner] = {}
        self._lock = threading.Lock()

    # storage primitives ------------------------------------------------------------
    def _load_bytes(self, content_hash: bytes) -> Optional[bytes]:
        raise NotImplementedError

    def _save_bytes(self, content_hash: bytes, data: bytes) -> None:
        raise NotImplementedError

    def hashes(self) -> list[bytes]:
        """Every stored model hash."""
        raise NotImplementedError

    # public API --------------------------------------------------------------------
    def put(self, model: QuantizedModel | bytes) -> bytes:
        """Store a model (object or canonical bytes, validated); returns its content hash."""
        if isinstance(model, QuantizedModel):
            data = model.encode()
        else:
            data = bytes(model)
            decode_model(data)  # refuse anything the engine could not run
        content_hash = model_hash(data)
        self._save_bytes(content_hash, data)
        return content_hash

    def has(self, content_hash: bytes) -> bool:
        return self.runner(content_hash, missing_ok=True) is not None

    def get_bytes(self, content_hash: bytes) -> bytes:
        data = self._load_bytes(bytes(content_hash))
        if data is None or model_hash(data) != content_hash:
            raise UnknownModel(f"model {bytes(content_hash).hex()} is not in the store")
        return data

    def get(self, content_hash: bytes) -> QuantizedModel:
        return self.runner(content_hash).model

    def runner(self, content_hash: bytes, missing_ok: bool = False) -> Optional[Runner]:
        """The prepared model for ``content_hash`` (cached); UnknownModel when absent or corrupt."""
        content_hash = bytes(content_hash)
        runner = self._runners.get(content_hash)
        if runner is not None:
            return runner
        try:
            data = self.get_bytes(content_hash)
            runner = Runner(decode_model(data))
        except (UnknownModel, ModelFormatError):
            if missing_ok:
                return None
            raise UnknownModel(f"model {content_hash.hex()} is not in the store") from None
        with self._lock:
            self._runners[content_hash] = runner
        return runner

    def __contains__(self, content_hash: bytes) -> bool:
        return self.has(content_hash)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.hashes())


class MemoryModelStore(ModelStore):
    """Models kept in a dict."""

    def __init__(self) -> None:
        super().__init__()
        self._blobs: dict[bytes, bytes] = {}

    def _load_bytes(self, content_hash: bytes) -> Optional[bytes]:
        return self._blobs.get(content_hash)

    def _save_bytes(self, content_hash: bytes, data: bytes) -> None:
        self._blobs[content_hash] = data

    def hashes(self) -> list[bytes]:
        return sorted(self._blobs)


class DirectoryModelStore(ModelStore):
    """Models as ``<hash hex>.hqm`` files in one directory (written atomically)."""

    def __init__(self, directory: str | os.PathLike) -> None:
        super().__init__()
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, content_hash: bytes) -> Path:
        return self.directory / f"{bytes(content_hash).hex()}{MODEL_SUFFIX}"

    def _load_bytes(self, content_hash: bytes) -> Optional[bytes]:
        if len(content_hash) != 32:
            return None
        try:
            return self.path_for(content_hash).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None

    def _save_bytes(self, content_hash: bytes, data: bytes) -> None:
        target = self.path_for(content_hash)
        if target.exists():
            return
        fd, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def hashes(self) -> list[bytes]:
        found = []
        for path in self.directory.glob(f"*{MODEL_SUFFIX}"):
            try:
                digest = bytes.fromhex(path.stem)
            except ValueError:
                continue
            if len(digest) == 32:
                found.append(digest)
        return sorted(found)
