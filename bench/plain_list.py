"""The baseline `tickets.py USER` is held to: a plain python-redmine script listing a user's
tickets (what someone would write without netbot), run by bench/scale.py's `cli` section.

    python bench/plain_list.py URL KEY LOGIN [PROJECT] [LIMIT]

One request finds the login (Redmine's `name` filter, then the exact login), one lists the
tickets, newest first; it prints one line per ticket with the columns tickets.py shows.
"""

from __future__ import annotations

import sys

from redminelib import Redmine


def main(url: str, key: str, login: str, project: str = "ops", limit: str = "100") -> None:
    api = Redmine(url, key=key, requests={"timeout": 30})
    user = next(u for u in api.user.filter(status=1, name=login) if u.login == login)
    issues = api.issue.filter(project_id=project, assigned_to_id=user.id, status_id="*",
                              sort="updated_on:desc", limit=int(limit))  # fmt: skip
    for issue in issues:
        assignee = getattr(issue, "assigned_to", None)
        print(issue.id, issue.tracker.name, issue.status.name, issue.priority.name,
              assignee.name if assignee else "", issue.updated_on, issue.subject, sep="\t")  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
