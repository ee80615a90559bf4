"""Files sent with interaction answers and channel messages, kept as the message's attachments.

py-cord sends a reply with files (``respond(file=...)``, ``followup.send(files=...)``,
``channel.send(file=...)``) as ``multipart/form-data``; the CDN mixin reads the parts, and
here they become the answered message's ``attachments``, their bytes readable with
``file_bytes`` (a command answering with a text file when its table does not fit an embed).
"""

from __future__ import annotations

from typing import Any

from .cdn import CdnMixin
from .server import Call, Result


class InteractionFilesMixin(CdnMixin):
    """Attachments on interaction follow-ups, original-response edits and channel posts."""

    def _followup(self, call: Call) -> Result:
        return self._with_files(super()._followup(call), call)

    def _edit_original(self, call: Call) -> Result:
        return self._with_files(super()._edit_original(call), call)

    def _create_message(self, call: Call) -> Result:
        return self._with_files(super()._create_message(call), call)

    def _with_files(self, result: Result, call: Call) -> Result:
        """The message answered with the uploaded files added; an edit listing
        ``attachments`` keeps only the listed earlier ones, as Discord does."""
        status, payload = result
        body: dict[str, Any] = call.body if isinstance(call.body, dict) else {}
        uploads = self.uploads()
        if status != 200 or not isinstance(payload, dict) or not (uploads or "attachments" in body):
            return result
        kept = {str(a.get("id")) for a in body.get("attachments") or []}
        payload["attachments"] = [
            a for a in payload.get("attachments") or [] if a["id"] in kept
        ] + self.attachments_from(payload["channel_id"], body, uploads)
        return result
