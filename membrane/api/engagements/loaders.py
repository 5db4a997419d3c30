"""Loaders of engagements and content: by id, and first pages per parent."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from membrane.api.loaders import ByIdLoader, CountLoader, PageLoader
from membrane.engagements import service
from membrane.engagements.enums import EngagementRole
from membrane.engagements.models import (
    Document,
    DocumentVersion,
    Engagement,
    Indicator,
    IndicatorValue,
    Membership,
    Message,
    Milestone,
    Participant,
    Task,
    Thread,
    ZonedContent,
    table_of,
)
from membrane.engagements.pagination import Page, PageRequest
from membrane.engagements.scope import VisibilityScope


class EngagementLoaders:
    """Every loader of the engagements domain for one request, each made on first use."""

    def __init__(
        self,
        session: AsyncSession,
        scope: VisibilityScope,
        remember_people: Callable[[service.People], None],
        rows_read: Callable[[str, Sequence[Any]], None] = lambda table, rows: None,
    ) -> None:
        self._session = session
        self._scope = scope
        self._remember_people = remember_people
        # Told of every content row loaded, for the audit of cross-organization reads.
        self._rows_read = rows_read
        self._counts: dict[type[ZonedContent], CountLoader] = {}

    def counts(self, model: type[ZonedContent]) -> CountLoader:
        """How much content of a kind each engagement has that the viewer may see, keyed by
        (engagement id, (zone, status))."""
        loader = self._counts.get(model)
        if loader is None:
            session, scope = self._session, self._scope

            async def fetch(ids: Sequence[uuid.UUID], extra: Any) -> dict[uuid.UUID, int]:
                zone, status = extra
                return await service.content_counts(
                    session, scope, model, ids, zone=zone, status=status
                )

            loader = self._counts[model] = CountLoader(fetch)
        return loader

    @cached_property
    def engagement_by_id(self) -> ByIdLoader[Engagement]:
        session, scope = self._session, self._scope

        async def engagements(ids: Sequence[uuid.UUID]) -> list[Engagement]:
            return await service.engagements_by_ids(session, scope, ids)

        return ByIdLoader(engagements)

    @cached_property
    def task_by_id(self) -> ByIdLoader[Task]:
        session, scope, remember = self._session, self._scope, self._remember_people

        async def tasks_by_id(ids: Sequence[uuid.UUID]) -> list[Task]:
            tasks, people = await service.tasks_by_ids(session, scope, ids)
            remember(people)
            self._rows_read("tasks", tasks)
            return tasks

        return ByIdLoader(tasks_by_id)

    @cached_property
    def thread_by_id(self) -> ByIdLoader[Thread]:
        return self._by_id(Thread)

    @cached_property
    def message_by_id(self) -> ByIdLoader[Message]:
        return self._by_id(Message)

    @cached_property
    def document_by_id(self) -> ByIdLoader[Document]:
        return self._by_id(Document)

    @cached_property
    def milestone_by_id(self) -> ByIdLoader[Milestone]:
        return self._by_id(Milestone)

    @cached_property
    def indicator_by_id(self) -> ByIdLoader[Indicator]:
        return self._by_id(Indicator)

    @cached_property
    def version_by_id(self) -> ByIdLoader[DocumentVersion]:
        session, scope = self._session, self._scope

        async def versions(ids: Sequence[uuid.UUID]) -> list[DocumentVersion]:
            found = await service.versions_by_ids(session, scope, ids)
            self._rows_read("document_versions", found)
            return found

        return ByIdLoader(versions)

    @cached_property
    def tasks(self) -> PageLoader[Task]:
        session, scope, remember = self._session, self._scope, self._remember_people

        async def task_pages(
            ids: Sequence[uuid.UUID], page: PageRequest, extra: Hashable
        ) -> dict[uuid.UUID, Page[Task]]:
            zone, status = extra if isinstance(extra, tuple) else (None, None)
            pages, people = await service.task_pages(
                session, scope, ids, page, zone=zone, status=status
            )
            remember(people)
            self._pages_read("tasks", pages)
            return pages

        return PageLoader(task_pages)

    @cached_property
    def threads(self) -> PageLoader[Thread]:
        return self._content_pages(Thread)

    @cached_property
    def documents(self) -> PageLoader[Document]:
        return self._content_pages(Document)

    @cached_property
    def milestones(self) -> PageLoader[Milestone]:
        return self._content_pages(Milestone)

    @cached_property
    def indicators(self) -> PageLoader[Indicator]:
        return self._content_pages(Indicator)

    @cached_property
    def participants(self) -> PageLoader[Participant]:
        return self._pages(service.participant_pages)

    @cached_property
    def members(self) -> PageLoader[Membership]:
        return self._pages(service.member_pages)

    @cached_property
    def messages(self) -> PageLoader[Message]:
        return self._pages(service.message_pages, "messages")

    @cached_property
    def versions(self) -> PageLoader[DocumentVersion]:
        return self._pages(service.version_pages, "document_versions")

    @cached_property
    def indicator_values(self) -> PageLoader[IndicatorValue]:
        return self._pages(service.indicator_value_pages, "indicator_values")

    @cached_property
    def viewer_role(self) -> DataLoader[uuid.UUID, EngagementRole | None]:
        session, scope = self._session, self._scope

        async def roles(keys: list[uuid.UUID]) -> list[EngagementRole | None]:
            found = await service.viewer_roles(session, scope, keys)
            return [found.get(key) for key in keys]

        return DataLoader(load_fn=roles)

    def _pages_read(self, table: str, pages: dict[uuid.UUID, Page[Any]]) -> None:
        for page in pages.values():
            self._rows_read(table, page.items)

    def _pages(
        self,
        fetch_pages: Callable[..., Awaitable[dict[uuid.UUID, Page[Any]]]],
        table: str | None = None,
    ) -> PageLoader[Any]:
        """Pages of children; `table` names zoned children, whose reads are audited."""
        session, scope = self._session, self._scope

        async def fetch(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Hashable
        ) -> dict[uuid.UUID, Page[Any]]:
            pages = await fetch_pages(session, scope, ids, page)
            if table is not None:
                self._pages_read(table, pages)
            return pages

        return PageLoader(fetch)

    def _by_id(self, model: type[Any]) -> ByIdLoader[Any]:
        session, scope = self._session, self._scope

        async def fetch(ids: Sequence[uuid.UUID]) -> list[Any]:
            found = await service.content_by_ids(session, scope, model, ids)
            self._rows_read(table_of(model), found)
            return found

        return ByIdLoader(fetch)

    def _content_pages(self, model: type[ZonedContent]) -> PageLoader[Any]:
        session, scope = self._session, self._scope

        async def fetch(
            ids: Sequence[uuid.UUID], page: PageRequest, extra: Hashable
        ) -> dict[uuid.UUID, Page[Any]]:
            zone = extra[0] if isinstance(extra, tuple) else None
            pages = await service.content_pages(session, scope, model, ids, page, zone=zone)
            self._pages_read(table_of(model), pages)
            return pages

        return PageLoader(fetch)
