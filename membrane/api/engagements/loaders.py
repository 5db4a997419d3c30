"""Loaders of engagements and content: by id, and first pages per parent."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from membrane.api.loaders import ByIdLoader, PageLoader
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
)
from membrane.engagements.pagination import Page, PageRequest
from membrane.engagements.scope import VisibilityScope


class EngagementLoaders:
    """Every loader of the engagements domain for one request."""

    def __init__(
        self,
        session: AsyncSession,
        scope: VisibilityScope,
        remember_people: Callable[[service.People], None],
    ) -> None:
        self._session = session
        self._scope = scope

        async def engagements(ids: Sequence[uuid.UUID]) -> list[Engagement]:
            return await service.engagements_by_ids(session, scope, ids)

        self.engagement_by_id: ByIdLoader[Engagement] = ByIdLoader(engagements)

        async def tasks_by_id(ids: Sequence[uuid.UUID]) -> list[Task]:
            tasks, people = await service.tasks_by_ids(session, scope, ids)
            remember_people(people)
            return tasks

        self.task_by_id: ByIdLoader[Task] = ByIdLoader(tasks_by_id)
        self.thread_by_id: ByIdLoader[Thread] = self._by_id(Thread)
        self.message_by_id: ByIdLoader[Message] = self._by_id(Message)
        self.document_by_id: ByIdLoader[Document] = self._by_id(Document)
        self.milestone_by_id: ByIdLoader[Milestone] = self._by_id(Milestone)
        self.indicator_by_id: ByIdLoader[Indicator] = self._by_id(Indicator)

        async def task_pages(
            ids: Sequence[uuid.UUID], page: PageRequest, extra: Hashable
        ) -> dict[uuid.UUID, Page[Task]]:
            zone, status = extra if isinstance(extra, tuple) else (None, None)
            pages, people = await service.task_pages(
                session, scope, ids, page, zone=zone, status=status
            )
            remember_people(people)
            return pages

        self.tasks: PageLoader[Task] = PageLoader(task_pages)
        self.threads: PageLoader[Thread] = self._content_pages(Thread)
        self.documents: PageLoader[Document] = self._content_pages(Document)
        self.milestones: PageLoader[Milestone] = self._content_pages(Milestone)
        self.indicators: PageLoader[Indicator] = self._content_pages(Indicator)

        async def participants(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Any
        ) -> dict[uuid.UUID, Page[Participant]]:
            return await service.participant_pages(session, scope, ids, page)

        async def members(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Any
        ) -> dict[uuid.UUID, Page[Membership]]:
            return await service.member_pages(session, scope, ids, page)

        async def messages(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Any
        ) -> dict[uuid.UUID, Page[Message]]:
            return await service.message_pages(session, scope, ids, page)

        async def versions(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Any
        ) -> dict[uuid.UUID, Page[DocumentVersion]]:
            return await service.version_pages(session, scope, ids, page)

        async def values(
            ids: Sequence[uuid.UUID], page: PageRequest, _extra: Any
        ) -> dict[uuid.UUID, Page[IndicatorValue]]:
            return await service.indicator_value_pages(session, scope, ids, page)

        self.participants: PageLoader[Participant] = PageLoader(participants)
        self.members: PageLoader[Membership] = PageLoader(members)
        self.messages: PageLoader[Message] = PageLoader(messages)
        self.versions: PageLoader[DocumentVersion] = PageLoader(versions)
        self.indicator_values: PageLoader[IndicatorValue] = PageLoader(values)

        async def roles(keys: list[uuid.UUID]) -> list[EngagementRole | None]:
            found = await service.viewer_roles(session, scope, keys)
            return [found.get(key) for key in keys]

        self.viewer_role: DataLoader[uuid.UUID, EngagementRole | None] = DataLoader(load_fn=roles)

    def _by_id(self, model: type[Any]) -> ByIdLoader[Any]:
        session, scope = self._session, self._scope

        async def fetch(ids: Sequence[uuid.UUID]) -> list[Any]:
            return await service.content_by_ids(session, scope, model, ids)

        return ByIdLoader(fetch)

    def _content_pages(self, model: type[ZonedContent]) -> PageLoader[Any]:
        session, scope = self._session, self._scope

        async def fetch(
            ids: Sequence[uuid.UUID], page: PageRequest, extra: Hashable
        ) -> dict[uuid.UUID, Page[Any]]:
            zone = extra[0] if isinstance(extra, tuple) else None
            return await service.content_pages(session, scope, model, ids, page, zone=zone)

        return PageLoader(fetch)
