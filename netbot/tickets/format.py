"""How tickets read as text: the CLI's tables and the Discord replies share these pieces."""

from __future__ import annotations

import datetime as dt

import humanize

from netbot.core.text import clip, outside
from netbot.tickets.records import Change, TicketDetail, TicketPage

ECHO_LIMIT = 100  # characters of a typed value repeated back in a message


def echo(value: object) -> str:
    """A value someone typed (or Redmine sent), quoted for a message and cut to ECHO_LIMIT.

    Error messages repeat what was asked for; uncut, a long value pushes a reply past
    Discord's 2,000 characters and the person gets no answer at all.
    """
    return repr(clip(str(value), ECHO_LIMIT))


def missing_project(project: str) -> str:
    """The answer when Redmine says a project-wide list is not found: the project is."""
    return f"Redmine has no project {echo(project)}, or you may not see it."


def age(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    """'3 days old', 'a minute old'."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{humanize.naturaldelta(now - moment)} old"


def table(page: TicketPage, now: dt.datetime | None = None) -> str:
    """A fixed-width table for the terminal, with a footer saying where in the result we are."""
    if not page.tickets:
        if page.total:
            return f"{page.title}: page {page.page} is past the end ({page.total} tickets, {page.pages} page(s))."
        return f"{page.title}: no tickets."
    rows = [("#", "STATUS", "PRIORITY", "ASSIGNEE", "AGE", "SUBJECT")]
    for t in page.tickets:
        rows.append(
            (
                str(t.id),
                t.status,
                t.priority,
                t.assignee or "-",
                humanize.naturaldelta((now or dt.datetime.now(dt.UTC)) - t.updated_on),
                clip(t.subject, 60),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:-1], widths, strict=False)) + "  " + r[-1]
        for r in rows
    ]
    return "\n".join([page.title, *lines, footer(page)])


def footer(page: TicketPage) -> str:
    first = (page.page - 1) * page.page_size + 1
    last = first + len(page.tickets) - 1
    return f"{first}-{last} of {page.total} (page {page.page} of {page.pages})"


def list_lines(page: TicketPage, base_url: str, now: dt.datetime | None = None) -> list[str]:
    """One Markdown line per ticket for a Discord embed; Redmine's text is shown as text."""
    return [
        f"[#{t.id}]({base_url}/issues/{t.id}) {outside(t.subject, 80)} · {outside(t.status)} · "
        f"{outside(t.assignee or 'unassigned')} · updated {age(t.updated_on, now).removesuffix(' old')} ago"
        for t in page.tickets
    ]


def detail_facts(ticket: TicketDetail, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """The labelled facts of `show`, in display order."""
    return [
        ("Status", ticket.status),
        ("Priority", ticket.priority),
        ("Tracker", ticket.tracker),
        ("Assignee", ticket.assignee or "unassigned"),
        ("Watchers", ", ".join(ticket.watchers) or "none"),
        ("Age", age(ticket.created_on, now)),
        ("Due", ticket.due_date.isoformat() if ticket.due_date else "none"),
    ]


def detail_text(ticket: TicketDetail, now: dt.datetime | None = None) -> str:
    """`show` for the terminal."""
    lines = [f"#{ticket.id} {ticket.subject}", ticket.url]
    lines += [f"{label + ':':<10}{value}" for label, value in detail_facts(ticket, now)]
    if ticket.notes:
        lines.append("Last notes:")
        lines += [f"  {n.author}, {age(n.created_on, now)}: {n.text}" for n in ticket.notes]
    return "\n".join(lines)


def change_text(change: Change) -> str:
    """'#12 Disk full: status: New -> In Progress; assigned_to: nobody -> Alice'."""
    what = "; ".join(change.changes) or "nothing changed"
    return f"#{change.ticket.id} {change.ticket.subject}: {what}"
