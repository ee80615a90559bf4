"""Identity: which Redmine login each Discord user acts as (linked by id, never by name)."""

from netbot.identity.links import (
    NO_PENDING_REQUEST,
    REQUEST_CHANGED,
    Link,
    approve_link,
    approved_login,
    deny_link,
    get_link,
    remove_link,
    request_link,
    set_link,
)

__all__ = [
    "NO_PENDING_REQUEST",
    "REQUEST_CHANGED",
    "Link",
    "approve_link",
    "approved_login",
    "deny_link",
    "get_link",
    "remove_link",
    "request_link",
    "set_link",
]
