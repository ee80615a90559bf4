"""The `/ticket` commands: translate Discord to `TicketService` calls and back.

Every command defers first (Discord wants an answer within 3 s; Redmine may take longer),
then runs the blocking service call on the runtime's Redmine workers and follows up. Everyone
acts as their linked Redmine login, so Redmine's permissions and workflow apply and history
shows the right author. Autocomplete answers from the in-memory catalog, refreshed by the
runtime's supervisor (job `tickets.refresh`). Opening a thread and linking an account are
workflows of `netbot.tickets.workflows`; this cog only gives them Discord.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import discord
from discord.ext import commands

from cogs.tickets import render
from cogs.tickets import sync as sync_view
from cogs.tickets.threads import DiscordThreads
from netbot import identity as links
from netbot.core.errors import BackendUnavailable, Refused, UserError
from netbot.core.health import Streak
from netbot.core.text import outside
from netbot.discord_bot import NetBot, as_text, who
from netbot.threader import ThreaderConfig, sync_report
from netbot.tickets import TicketsConfig, build, threads
from netbot.tickets.service import EDITABLE_FIELDS, parse_ticket_id
from netbot.tickets.workflows import (
    Linked,
    LinkWorkflow,
    Opener,
    ThreadWorkflow,
    check_decider,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

NOT_LINKED = (
    "Your Discord account is not linked to a Redmine login yet, so netbot cannot act as you. "
    "Use `/ticket link login:<your Redmine login>`; an admin approves the request."
)
STATUS_CHOICES = ["open", "closed", "all"]
LIST_EXPIRED = "This list expired; run the command again."
OLD_LINK_BUTTON = (
    "This request's buttons are from an older netbot and name no request; ask them to "
    "send /ticket link again."
)
REFRESH_JOB = "tickets.refresh"


class NewTicketModal(discord.ui.Modal):
    """Subject and description of a new ticket; tracker and priority come from the command."""

    def __init__(self, cog: "Tickets", tracker: str | None, priority: str | None) -> None:
        super().__init__(title="New ticket", custom_id="tickets:new")
        self.cog, self.tracker, self.priority = cog, tracker, priority
        self.add_item(discord.ui.InputText(label="Subject", custom_id="subject", max_length=255))
        self.add_item(
            discord.ui.InputText(
                label="Description",
                custom_id="description",
                style=discord.InputTextStyle.long,
                required=False,
                max_length=4000,
            )
        )

    async def callback(self, interaction: discord.Interaction) -> None:
        subject, description = (child.value or "" for child in self.children)
        await self.cog.create_from_modal(
            interaction, subject, description, self.tracker, self.priority
        )

    async def on_error(self, error: Exception, interaction: discord.Interaction) -> None:
        await self.cog.bot.report_failure(interaction, error, "the new-ticket form")


class Tickets(commands.Cog):
    ticket = discord.SlashCommandGroup("ticket", "Redmine tickets")

    def __init__(self, bot: NetBot) -> None:
        self.bot = bot
        runtime = bot.runtime
        settings = runtime.config.section("tickets", TicketsConfig)
        built = build(
            runtime.secrets.value("REDMINE_URL"),
            runtime.secrets.secret("REDMINE_TOKEN").reveal(),
            settings,
            thread_field=runtime.config.section("threader", ThreaderConfig).thread_field,
        )
        self.gateway, self.catalog, self.service = built.gateway, built.catalog, built.service
        self.page_size = settings.page_size
        self.threads: dict[int, int] = {}  # Discord thread id -> ticket id
        self.pages = render.PageKeys()  # what each pager button's key stands for
        self.announced: set[int] = set()  # tickets whose creation was announced in a channel
        self.impersonation_ok = False
        self.ready = asyncio.Event()  # set after the first successful catalog refresh
        self._refresh_streak = Streak()  # its own: a command failing first must not hide it
        self.thread_flow = ThreadWorkflow(self.service, runtime.database, self, self.threads)
        self.link_flow = LinkWorkflow(self.service, runtime.database, self)
        self._threads_loaded = False
        # Each process keeps its own catalog, so each refreshes it (no lease between them).
        runtime.supervisor.every(
            REFRESH_JOB, settings.cache_refresh_seconds, self.refresh_catalog, each_process=True
        )

    # ------------------------------------------------------------------ background
    @commands.Cog.listener()
    async def on_connect(self) -> None:
        if not self._threads_loaded:
            self._threads_loaded = True
            self.threads.update(await self.database(threads.all_threads, self.bot.runtime.database))

    async def refresh_catalog(self) -> None:
        """The `tickets.refresh` job: check the key once, then reload the catalog.

        A failure is logged once per failure streak (a bug with its traceback) and shown in
        the health; the job never raises, so the supervisor logs nothing more.
        """
        health = self.bot.runtime.health
        try:
            if not self.impersonation_ok:
                await self.redmine_call(self.gateway.check_impersonation)
                self.impersonation_ok = True
            await self.redmine_call(self.catalog.refresh)
            health.success("redmine")
            if self._refresh_streak.succeeded():
                log.info("redmine: catalog refresh recovered")
            self.ready.set()
        except Exception as exc:  # the refresh must outlive any failure, bugs included
            message = exc.message if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            health.failure("redmine", message)
            if self._refresh_streak.failed():
                log.error(
                    "redmine: catalog refresh failing: %s",
                    message,
                    exc_info=not isinstance(exc, UserError),
                )

    # ------------------------------------------------------------------ helpers
    async def redmine_call(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking Redmine call on the runtime's Redmine workers."""
        return await self.bot.runtime.workers.run("redmine", call, *args, **kwargs)

    async def redmine(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking service call for a person: its errors as text, Redmine's health
        recorded."""
        try:
            with as_text():
                result = await self.redmine_call(call, *args, **kwargs)
        except BackendUnavailable as exc:
            self.bot.runtime.health.failure("redmine", exc.message)
            raise
        self.bot.runtime.health.success("redmine")
        return result

    async def database(self, call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking call on netbot's database, on the runtime's database workers."""
        return await self.bot.runtime.workers.run("database", call, *args, **kwargs)

    async def actor(self, user_id: int) -> str:
        """The Redmine login this Discord user acts as; UserError if none is approved."""
        if not self.impersonation_ok:
            raise BackendUnavailable(
                "netbot cannot act as you in Redmine yet: its key is not confirmed as an "
                "administrator's (see the operator log); try again shortly."
            )
        login = await self.database(links.approved_login, self.bot.runtime.database, user_id)
        if login is None:
            raise UserError(NOT_LINKED)
        return login

    @staticmethod
    def ticket_id(typed: str) -> int:
        """The ticket number in a `ticket` option (see `parse_ticket_id`)."""
        with as_text():
            return parse_ticket_id(typed)

    async def send_page(
        self, ctx: discord.ApplicationContext, kind: str, value: str, status: str, page: int
    ) -> None:
        result = await self.list_page(ctx.author.id, kind, value, status, page)
        view = render.pager(result, self.pages.key(kind, value, status))
        await ctx.respond(
            embed=render.page_embed(result, self.gateway.link_url),
            view=view or discord.utils.MISSING,
        )

    async def list_page(self, user_id: int, kind: str, value: str, status: str, page: int) -> Any:
        actor = await self.actor(user_id)
        if kind == "search":
            return await self.redmine(
                self.service.search, actor, value, page=page, page_size=self.page_size
            )
        return await self.redmine(
            self.service.list_tickets,
            actor,
            user=value if kind == "user" else None,
            team=value if kind == "team" else None,
            status=status,
            page=page,
            page_size=self.page_size,
        )

    async def change(
        self, ctx: discord.ApplicationContext, call: Callable[..., Any], ticket: str, *args: Any
    ) -> None:
        """A write to one ticket, as the person, answered with what changed."""
        await ctx.defer(ephemeral=True)
        ticket_id = self.ticket_id(ticket)
        actor = await self.actor(ctx.author.id)
        result = await self.redmine(call, actor, ticket_id, *args)
        await ctx.respond(render.change_message(result), ephemeral=True)

    # ------------------------------------------------------------------ autocomplete
    async def complete_ticket(self, ctx: discord.AutocompleteContext) -> list[discord.OptionChoice]:
        first = self.threads.get(ctx.interaction.channel_id or 0)
        return [
            discord.OptionChoice(name, str(value))
            for name, value in self.catalog.match_tickets(ctx.value or "", first)
        ]

    # The `ticket` option of every command on one ticket, declared once.
    ticket_option = discord.option(
        "ticket",
        str,
        description="Ticket number, or words of its subject",
        autocomplete=complete_ticket,
    )

    async def complete_person(self, ctx: discord.AutocompleteContext) -> list[discord.OptionChoice]:
        return [
            discord.OptionChoice(name, value)
            for name, value in self.catalog.match_people(ctx.value or "")
        ]

    async def complete_user(self, ctx: discord.AutocompleteContext) -> list[discord.OptionChoice]:
        return [
            discord.OptionChoice(name, value)
            for name, value in self.catalog.match_people(ctx.value or "", teams=False)
        ]

    async def complete_team(self, ctx: discord.AutocompleteContext) -> list[discord.OptionChoice]:
        return [
            discord.OptionChoice(name, value)
            for name, value in self.catalog.match_teams(ctx.value or "")
        ]

    async def complete_status(self, ctx: discord.AutocompleteContext) -> list[str]:
        typed = (ctx.value or "").lower()
        return [s for s in STATUS_CHOICES if typed in s] + self.catalog.match_names("status", typed)

    async def complete_tracker(self, ctx: discord.AutocompleteContext) -> list[str]:
        return self.catalog.match_names("tracker", ctx.value or "")

    async def complete_priority(self, ctx: discord.AutocompleteContext) -> list[str]:
        return self.catalog.match_names("priority", ctx.value or "")

    async def complete_value(self, ctx: discord.AutocompleteContext) -> list[str]:
        """Values for `/ticket set`, by the field chosen in the same command."""
        field = ctx.options.get("field")
        if field in ("status", "priority", "tracker"):
            return self.catalog.match_names(field, ctx.value or "")
        return []

    # ------------------------------------------------------------------ reads
    @ticket.command(
        name="list", description="Open tickets: yours and your teams', or a user's or team's"
    )
    @discord.option(
        "user", str, description="A Redmine login", required=False, autocomplete=complete_user
    )
    @discord.option("team", str, description="A team", required=False, autocomplete=complete_team)
    @discord.option(
        "status",
        str,
        description="open, closed, all or a status",
        default="open",
        autocomplete=complete_status,
    )
    @discord.option("page", int, description="Page number", default=1, min_value=1)
    async def list_(
        self,
        ctx: discord.ApplicationContext,
        user: str | None,
        team: str | None,
        status: str,
        page: int,
    ) -> None:
        await ctx.defer(ephemeral=True)
        kind, value = ("team", team) if team else ("user", user) if user else ("me", "")
        await self.send_page(ctx, kind, value or "", status, page)

    @ticket.command(description="Search tickets by text")
    @discord.option("term", str, description="Words to look for")
    @discord.option("page", int, description="Page number", default=1, min_value=1)
    async def search(self, ctx: discord.ApplicationContext, term: str, page: int) -> None:
        await ctx.defer(ephemeral=True)
        await self.send_page(ctx, "search", term, "all", page)

    @ticket.command(description="Show a ticket")
    @ticket_option
    async def show(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        await ctx.defer(ephemeral=True)
        detail = await self.redmine(
            self.service.show, await self.actor(ctx.author.id), self.ticket_id(ticket)
        )
        await ctx.respond(embed=render.detail_embed(detail))

    # ------------------------------------------------------------------ writes
    @ticket.command(description="Create a ticket (opens a form)")
    @discord.option(
        "tracker",
        str,
        description="Bug, Feature, ...",
        required=False,
        autocomplete=complete_tracker,
    )
    @discord.option(
        "priority",
        str,
        description="Normal, High, ...",
        required=False,
        autocomplete=complete_priority,
    )
    async def new(
        self, ctx: discord.ApplicationContext, tracker: str | None, priority: str | None
    ) -> None:
        # A modal must be the first answer, so the checks here never wait for Redmine.
        await self.actor(ctx.author.id)
        if self.ready.is_set():
            with as_text():
                if tracker:
                    self.catalog.tracker(tracker)
                if priority:
                    self.catalog.priority(priority)
        await ctx.send_modal(NewTicketModal(self, tracker, priority))

    async def create_from_modal(
        self,
        interaction: discord.Interaction,
        subject: str,
        description: str,
        tracker: str | None,
        priority: str | None,
    ) -> None:
        # invisible=False: a "thinking..." reply (type 5); the default for modals would
        # be an update of a message this interaction does not have.
        await interaction.response.defer(ephemeral=True, invisible=False)
        actor = await self.actor(who(interaction).id)
        channel = interaction.channel
        parent_id = getattr(channel, "parent_id", None) or interaction.channel_id or 0
        team = self.bot.runtime.config.team_for_channel(parent_id)
        created = await self.redmine(
            self.service.create_once, actor, subject, description,
            tracker=tracker, priority=priority, team=team.name if team else None,
        )  # fmt: skip
        ticket = created.ticket
        if created.new:
            await interaction.followup.send(
                f"Created [#{ticket.id}]({ticket.url}).", ephemeral=True
            )
        else:  # a retry, perhaps after the first answer was lost
            await interaction.followup.send(
                f"You created this ticket a moment ago: [#{ticket.id}]({ticket.url}); "
                "not created twice.",
                ephemeral=True,
            )
        if ticket.id in self.announced:
            return
        self.announced.add(ticket.id)
        announcement = f"New ticket [#{ticket.id}]({ticket.url}) {outside(ticket.subject)}"
        mentions = discord.AllowedMentions.none()
        if team and team.role_id:
            # The one deliberate ping: the team that owns this channel hears of its new ticket.
            announcement = f"<@&{team.role_id}> {announcement}"
            mentions = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(team.role_id)]
            )
        if isinstance(channel, discord.abc.Messageable):
            await channel.send(announcement, allowed_mentions=mentions)

    @ticket.command(description="Assign a ticket to a user or team")
    @ticket_option
    @discord.option("user", str, description="Redmine login or team", autocomplete=complete_person)
    async def assign(self, ctx: discord.ApplicationContext, ticket: str, user: str) -> None:
        await self.change(ctx, self.service.assign, ticket, user)

    @ticket.command(description="Unassign a ticket and set it back to New")
    @ticket_option
    async def unassign(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        await self.change(ctx, self.service.unassign, ticket)

    @ticket.command(description="Take a ticket: assigned to you, In Progress")
    @ticket_option
    async def progress(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        await self.change(ctx, self.service.progress, ticket)

    @ticket.command(description="Mark a ticket Resolved")
    @ticket_option
    async def resolve(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        await self.change(ctx, self.service.resolve, ticket)

    @ticket.command(description="Watch a ticket (add yourself as a watcher)")
    @ticket_option
    async def collaborate(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        await self.change(ctx, self.service.collaborate, ticket)

    @ticket.command(description="Add a note to a ticket")
    @ticket_option
    @discord.option("text", str, description="The note", max_length=4000)
    async def note(self, ctx: discord.ApplicationContext, ticket: str, text: str) -> None:
        await self.change(ctx, self.service.note, ticket, text)

    @ticket.command(
        name="set", description="Change a ticket's status, priority, tracker, subject or due date"
    )
    @ticket_option
    @discord.option("field", str, description="What to change", choices=list(EDITABLE_FIELDS))
    @discord.option(
        "value", str, description="New value (a date as YYYY-MM-DD)", autocomplete=complete_value
    )
    async def set_(
        self, ctx: discord.ApplicationContext, ticket: str, field: str, value: str
    ) -> None:
        await self.change(ctx, self.service.set_field, ticket, field, value)

    @ticket.command(description="Open a Discord thread for a ticket")
    @ticket_option
    async def thread(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        """Open the ticket's thread, or reopen the one it has: never a second one."""
        await ctx.defer(ephemeral=True)
        ticket_id = self.ticket_id(ticket)
        actor = await self.actor(ctx.author.id)
        port = DiscordThreads(self.bot, ctx.channel)
        opener = Opener(ctx.guild_id or 0, ctx.channel_id or 0, ctx.author.id)
        opened = await self.thread_flow.open(actor, ticket_id, port, opener)
        mention = f"<#{opened.thread_id}>"
        if not opened.created:
            reopened = " It was archived; it is open again." if opened.reopened else ""
            await ctx.respond(f"Ticket {ticket_id} already has a thread: {mention}.{reopened}")
            return
        await port.thread(opened.thread_id).send(
            embed=render.detail_embed(opened.ticket), view=sync_view.status_button(ticket_id)
        )
        await ctx.respond(f"Thread for #{ticket_id}: {mention}")

    @ticket.command(description="Show how a ticket's Discord thread sync is doing")
    @ticket_option
    async def sync(self, ctx: discord.ApplicationContext, ticket: str) -> None:
        """Last sync, pending writes and the last error, as the threader recorded them."""
        report = await sync_report(self.bot.runtime, self.ticket_id(ticket))
        await ctx.respond(report, ephemeral=True)

    # ------------------------------------------------------------------ links
    @ticket.command(description="Link a Discord account to a Redmine login")
    @discord.option("login", str, description="Redmine login", autocomplete=complete_user)
    @discord.option(
        "member", discord.Member, description="Admins only: link someone else", required=False
    )
    async def link(
        self, ctx: discord.ApplicationContext, login: str, member: discord.Member | None
    ) -> None:
        await ctx.defer(ephemeral=True)
        target = member or ctx.author
        outcome = await self.link_flow.link(
            ctx.author.id, target.id, login, requester_is_admin=self.bot.is_admin(ctx.author)
        )
        if outcome.done is Linked.LINKED:
            await ctx.respond(
                f"Linked {target.mention} to Redmine login {render.code(outcome.login)}."
            )
        elif outcome.done is Linked.ALREADY:
            await ctx.respond(f"You already act as Redmine user {render.code(outcome.login)}.")
        else:
            assert outcome.request_id is not None  # a request waits: it has an id
            await ctx.send(
                render.link_request(ctx.author.display_name, outcome.login),
                view=render.link_buttons(ctx.author.id, outcome.request_id),
            )
            await ctx.respond("Request sent; an admin will approve it.")

    @ticket.command(description="Remove a Discord account's link to Redmine")
    @discord.option(
        "member", discord.Member, description="Admins only: unlink someone else", required=False
    )
    async def unlink(self, ctx: discord.ApplicationContext, member: discord.Member | None) -> None:
        await ctx.defer(ephemeral=True)
        target = member or ctx.author
        removed = await self.link_flow.unlink(
            ctx.author.id, target.id, requester_is_admin=self.bot.is_admin(ctx.author)
        )
        await ctx.respond(
            f"Unlinked {target.mention}." if removed else f"{target.mention} was not linked."
        )

    # ------------------------------------------------------------------ buttons
    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        custom_id = interaction.custom_id or ""
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(
            "tickets:"
        ):
            return
        # A guild off the allow-list never gets here: NetBot's gate refuses its components.
        try:
            if custom_id.startswith(render.PAGE_PREFIX):
                await self._turn_page(interaction, custom_id)
            elif custom_id.startswith(render.LINK_PREFIX):
                await self._decide_link(interaction, custom_id)
        except Exception as exc:
            await self.bot.report_failure(interaction, exc, f"button {custom_id}")

    async def _turn_page(self, interaction: discord.Interaction, custom_id: str) -> None:
        parsed = render.parse_page_id(custom_id)
        listed = self.pages.get(parsed[0]) if parsed else None
        if parsed is None or listed is None:  # forgotten at a restart, or an older netbot's
            raise UserError(LIST_EXPIRED)
        kind, value, status = listed
        await interaction.response.defer()
        result = await self.list_page(who(interaction).id, kind, value, status, parsed[1])
        await interaction.edit_original_response(
            embed=render.page_embed(result, self.gateway.link_url),
            view=render.pager(result, parsed[0]),
        )

    async def _decide_link(self, interaction: discord.Interaction, custom_id: str) -> None:
        """Approve or deny the very request the message shows (its id is in the button)."""
        parsed = render.parse_link_id(custom_id)
        if parsed is None:
            raise Refused(OLD_LINK_BUTTON)
        action, user_id, request_id = parsed
        decider = who(interaction)
        is_admin = self.bot.is_admin(decider)
        check_decider(is_admin)  # refused at once, before the button is acknowledged
        await interaction.response.defer()
        if action == "approve":
            link = await self.link_flow.approve(
                user_id, request_id, decider.id, approver_is_admin=is_admin
            )
            outcome = (
                f"<@{user_id}> may now act as Redmine user {render.code(link.redmine_login)} "
                f"(approved by {decider.mention})."
            )
        else:
            await self.link_flow.deny(user_id, request_id, decider.id, decider_is_admin=is_admin)
            outcome = f"Link request of <@{user_id}> denied by {decider.mention}."
        await interaction.edit_original_response(content=outcome, view=None)
