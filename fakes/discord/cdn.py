"""Attachment files on the fake: uploaded with a message, served back at a CDN-like URL.

Discord keeps a message's files on its CDN and hands out their URLs; a REST-only reader
(the threader) downloads them from there. The fake does the same on its own port, under
``/attachments/{channel_id}/{attachment_id}/{filename}`` (Discord's CDN path shape), so a
client downloads real bytes over a real socket. Files sent as ``multipart/form-data``
(``files[n]`` parts plus ``payload_json``) are read here and handed to the route handler.
"""

from __future__ import annotations

import contextvars
import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .payloads import snowflake

if TYPE_CHECKING:
    from .server import FakeDiscordServer as _Server
else:
    _Server = object

CDN_PREFIX = "/attachments/"
CDN_HIT = "GET cdn"  # the key CDN downloads are counted under in ``hits``


@dataclass(frozen=True)
class Upload:
    """One file part of a multipart request (``files[0]`` ...)."""

    field: str
    filename: str
    data: bytes
    content_type: str


# The file parts of the request being answered (set while reading the body; the handler runs
# in the same task without awaiting in between).
_UPLOADS: contextvars.ContextVar[tuple[Upload, ...]] = contextvars.ContextVar(
    "fake_discord_uploads", default=()
)


class CdnMixin(_Server):
    """Stores attachment bytes and serves them; reads multipart uploads."""

    _cdn_files: dict[str, tuple[bytes, str]]

    def _cdn(self) -> dict[str, tuple[bytes, str]]:
        """The stored files by CDN path (created on first use: mixins have no ``__init__``)."""
        if not hasattr(self, "_cdn_files"):
            self._cdn_files = {}
        return self._cdn_files

    def store_file(
        self, channel_id: str, filename: str, data: bytes, content_type: str = ""
    ) -> dict[str, Any]:
        """Keep ``data`` on the CDN and return the message's attachment object for it."""
        attachment_id = snowflake()
        path = f"{CDN_PREFIX}{channel_id}/{attachment_id}/{urllib.parse.quote(filename)}"
        kind = content_type or "application/octet-stream"
        self._cdn()[path] = (data, kind)
        url = f"http://127.0.0.1:{self.port}{path}"
        return {
            "id": attachment_id,
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": kind,
        }

    def file_bytes(self, attachment: dict[str, Any]) -> bytes:
        """The stored bytes of an attachment object (for assertions)."""
        path = urllib.parse.urlsplit(attachment["url"]).path
        return self._cdn()[path][0]

    @staticmethod
    def uploads() -> tuple[Upload, ...]:
        """The file parts of the request now being answered."""
        return _UPLOADS.get()

    def attachments_from(
        self, channel_id: str, body: dict[str, Any], uploads: tuple[Upload, ...]
    ) -> list[dict[str, Any]]:
        """Attachment objects for the uploaded files: ``files[n]`` pairs with the entry of
        ``body["attachments"]`` whose id is ``n`` (for its filename), as Discord does."""
        named = {str(a.get("id")): a for a in body.get("attachments") or []}
        stored = []
        for upload in uploads:
            index = upload.field.removeprefix("files[").removesuffix("]")
            filename = (named.get(index) or {}).get("filename") or upload.filename
            stored.append(self.store_file(channel_id, filename, upload.data, upload.content_type))
        return stored

    def edited_attachments(
        self, payload: dict[str, Any], body: dict[str, Any], uploads: tuple[Upload, ...]
    ) -> list[dict[str, Any]]:
        """A message's attachments after an edit: an edit listing ``attachments`` keeps only
        the listed earlier ones (by id), as Discord does, and the uploaded files are added."""
        if "attachments" in body:
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            earlier = [a for a in payload.get("attachments") or [] if a["id"] in kept]
        else:
            earlier = list(payload.get("attachments") or [])
        return earlier + self.attachments_from(payload["channel_id"], body, uploads)

    async def _read_body(self, request: web.Request) -> Any:  # type: ignore[override]
        uploads: list[Upload] = []
        _UPLOADS.set(())
        if request.content_type != "multipart/form-data":
            return await super()._read_body(request)
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                uploads.append(Upload(name, value.filename, value.file.read(), value.content_type))
        _UPLOADS.set(tuple(uploads))
        # A payload_json part sent with its own Content-Type (application/json) arrives as
        # bytes, as a file part if it carries a filename; both are the JSON body.
        raw = form.get("payload_json")
        if isinstance(raw, web.FileField):
            raw = next(u.data for u in uploads if u.field == "payload_json")
            _UPLOADS.set(tuple(u for u in uploads if u.field != "payload_json"))
        return json.loads(raw) if isinstance(raw, str | bytes | bytearray) else None

    async def _rest(self, request: web.Request) -> web.Response:
        """CDN downloads are answered here; everything else is the API."""
        if request.method != "GET" or not request.path.startswith(CDN_PREFIX):
            return await super()._rest(request)
        self._count_hit(CDN_HIT)
        stored = self._cdn().get(urllib.parse.quote(urllib.parse.unquote(request.path)))
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored[0], headers={"Content-Type": stored[1]})

    def _count_hit(self, key: str) -> None:
        """Overridden by the rate-limit mixin, which keeps the counters."""
