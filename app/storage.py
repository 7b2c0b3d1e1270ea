"""Where uploaded files are kept: a folder on the local disk (the default, `instance/uploads/`)
or an S3-compatible object store (Amazon S3, MinIO, Ceph RGW, …) when `UPLOADS_S3_BUCKET`
is set. The rest of the application goes through `app.services.infrastructure.uploads`, which names
the objects (random names, never chosen by a user) and checks access before serving one.

Both backends keep flat names (`<32 hex>.jpg|.pdf`); the object store puts them under
`UPLOADS_S3_PREFIX`. Every failure to reach the store is raised as `StoreError`, a
missing object as `FileNotFoundError`, whichever the backend."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app

# The names this module ever writes; the orphan sweep touches nothing else (a folder
# configured by mistake, e.g. `instance/` itself, keeps its other files).
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(?:jpg|pdf)$")
_TEMP_PREFIX = ".part-"  # a local file being written; renamed into place when complete
_TEMP_NAME = re.compile(r"^\.part-[0-9a-f]{16}-[0-9a-f]{32}\.(?:jpg|pdf)$")


class StoreError(RuntimeError):
    """The store could not be reached or refused the operation (down, bucket missing,
    credentials refused, disk full)."""


class LocalStorage:
    """Files in one folder. A file is written under a temporary name and renamed into
    place, so a crash never leaves a partial file under a stored name."""

    kind = "local"

    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def path(self, name: str) -> Path:
        return self.root / name

    def put(self, name: str, data: bytes, content_type: str) -> None:
        try:
            folder = self._dir()
            tmp = folder / f"{_TEMP_PREFIX}{secrets.token_hex(8)}-{name}"
            tmp.write_bytes(data)
            os.replace(tmp, folder / name)
        except OSError as exc:
            raise StoreError(f"cannot write {name}: {exc}") from exc

    def open(self, name: str):
        """A path Flask's send_file serves (ranges, sendfile); FileNotFoundError when absent."""
        path = self.path(name)
        if not path.is_file():
            raise FileNotFoundError(name)
        return path, path.stat().st_size

    def read(self, name: str) -> bytes:
        try:
            return self.path(name).read_bytes()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise StoreError(str(exc)) from exc

    def delete(self, names) -> None:
        for name in names:
            try:
                self.path(name).unlink(missing_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot delete {name}: {exc}") from exc

    def listing(self) -> Iterator[tuple[str, datetime]]:
        """(name, last modified, naive UTC) of every stored or half-written file."""
        if not self.root.is_dir():
            return
        with os.scandir(self.root) as entries:
            for entry in entries:
                if (STORED_NAME.match(entry.name) or _TEMP_NAME.match(entry.name)) and entry.is_file():
                    mtime = datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc)
                    yield entry.name, mtime.replace(tzinfo=None)


class S3Storage:
    """Objects in one bucket of an S3-compatible store, through boto3. The client is
    made once per process and shared by the threads (boto3 clients are thread-safe)."""

    kind = "s3"

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _errors(self):
        from botocore.exceptions import BotoCoreError, ClientError

        return BotoCoreError, ClientError

    @staticmethod
    def _missing(exc) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        return code in ("NoSuchKey", "404", "NotFound")

    def put(self, name: str, data: bytes, content_type: str) -> None:
        import base64
        import hashlib

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.prefix + name, Body=data, ContentType=content_type,
                # the store checks the bytes it received (a cut connection is refused)
                ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - integrity, not security
            )
        except self._errors() as exc:
            raise StoreError(f"cannot put {name}: {exc}") from exc

    def open(self, name: str):
        """A readable stream of the object and its size; FileNotFoundError when absent."""
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self.prefix + name)
        except self._errors() as exc:
            if self._missing(exc):
                raise FileNotFoundError(name) from exc
            raise StoreError(f"cannot get {name}: {exc}") from exc
        return _Stream(obj["Body"]), obj.get("ContentLength")

    def read(self, name: str) -> bytes:
        stream, _size = self.open(name)
        try:
            return stream.read()
        finally:
            stream.close()

    def delete(self, names) -> None:
        names = list(names)
        for i in range(0, len(names), 1000):  # DeleteObjects takes at most 1,000 keys
            chunk = [{"Key": self.prefix + n} for n in names[i:i + 1000]]
            try:
                result = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            except self._errors() as exc:
                raise StoreError(f"cannot delete: {exc}") from exc
            if result.get("Errors"):
                raise StoreError(f"cannot delete: {result['Errors'][:3]}")

    def listing(self) -> Iterator[tuple[str, datetime]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for obj in page.get("Contents", ()):
                    name = obj["Key"][len(self.prefix):]
                    if STORED_NAME.match(name):
                        yield name, obj["LastModified"].astimezone(timezone.utc).replace(tzinfo=None)
        except self._errors() as exc:
            raise StoreError(f"cannot list: {exc}") from exc


class _Stream:
    """An object's body as a plain readable file: `read` and `close` only, so a WSGI
    server's file wrapper reads it in blocks instead of trying sendfile() on the socket
    underneath (urllib3's response has a `fileno`)."""

    def __init__(self, body):
        self._body = body

    def read(self, size: int = -1) -> bytes:
        return self._body.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        self._body.close()


_EXT_KEY = "sevadesk.storage"
_build_lock = threading.Lock()
_boto_session = None


def _settings(cfg) -> tuple:
    return tuple(cfg.get(k) for k in (
        "UPLOADS_S3_BUCKET", "UPLOADS_S3_PREFIX", "UPLOADS_S3_ENDPOINT_URL", "UPLOADS_S3_REGION",
        "UPLOADS_S3_ACCESS_KEY_ID", "UPLOADS_S3_SECRET_ACCESS_KEY", "UPLOADS_S3_ADDRESSING_STYLE",
        "UPLOADS_S3_TIMEOUT", "UPLOADS_S3_MAX_ATTEMPTS", "UPLOAD_FOLDER"))


def _build(app):
    """A store for the app's settings (called under `_build_lock`)."""
    global _boto_session
    cfg = app.config
    if not cfg.get("UPLOADS_S3_BUCKET"):
        return LocalStorage(Path(cfg.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads"))
    import boto3
    from botocore.config import Config as BotoConfig

    if _boto_session is None:  # loads the service models once per process; not thread-safe
        _boto_session = boto3.session.Session()
    timeout = cfg.get("UPLOADS_S3_TIMEOUT") or 10
    client = _boto_session.client(
        "s3",
        endpoint_url=cfg.get("UPLOADS_S3_ENDPOINT_URL") or None,
        region_name=cfg.get("UPLOADS_S3_REGION") or None,
        # None: boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, an
        # instance role)
        aws_access_key_id=cfg.get("UPLOADS_S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=cfg.get("UPLOADS_S3_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            connect_timeout=timeout, read_timeout=timeout,
            retries={"mode": "standard", "max_attempts": cfg.get("UPLOADS_S3_MAX_ATTEMPTS") or 3},
            s3={"addressing_style": cfg.get("UPLOADS_S3_ADDRESSING_STYLE") or "auto"},
            # Content-MD5 (sent by `put`) is what every S3-compatible store checks; the
            # newer CRC trailers of boto3 are refused by some of them
            request_checksum_calculation="when_required", response_checksum_validation="when_required",
        ),
    )
    return S3Storage(client, cfg["UPLOADS_S3_BUCKET"], cfg.get("UPLOADS_S3_PREFIX") or "")


def storage(app=None):
    """The application's store, made once per process (again when its settings change)."""
    app = app or current_app._get_current_object()
    key = _settings(app.config)
    cached = app.extensions.get(_EXT_KEY)
    if cached is None or cached[0] != key:
        with _build_lock:
            cached = app.extensions.get(_EXT_KEY)
            if cached is None or cached[0] != key:
                cached = (key, _build(app))
                app.extensions[_EXT_KEY] = cached
    return cached[1]
