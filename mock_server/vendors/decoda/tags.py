"""Attachment tags: one set per tenant, assigned to attachments by id.

Choices Decoda's specification leaves open (also in docs/vendors/decoda.md):
- tag names are unique per tenant, compared case-insensitively: a second one is 409
  ``{"detail": "An attachment tag with this name already exists"}``;
- listing: ``name`` filters by case-insensitive substring; ``page`` starts at 1 (default 1),
  ``per_page`` default 50 (values below 1 are 1, above 1000 are 1000); ``sort_by`` is ``name``
  (default) or ``createdDate`` (anything else sorts by name); ``location_id`` is accepted and ignored
  (tags are not per location in the sandbox); ``total`` counts every match;
- assigning replaces the attachment's tags with the given ids (duplicates dropped, order kept); an
  unknown id is 404 ``Tag not found: <id>`` and nothing changes; assign and delete answer
  ``{"message": ...}`` (the spec's ``dict[str, str]``);
- deleting a tag removes it from every attachment of the tenant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mock_server.core.sandbox import Sandbox
from mock_server.vendors.decoda import models
from mock_server.vendors.decoda.errors import Conflict, NotFound
from mock_server.vendors.decoda.fixtures import VENDOR

KIND = models.TAG_KIND
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 1000


class TagNotFound(NotFound):
    code = "tag-not-found"
    default_message = "Tag not found"


def get(sandbox: Sandbox, tenant: str, tag_id: str) -> dict[str, Any]:
    """Raises: TagNotFound (also for another tenant's tag)."""
    tag = sandbox.store.get(VENDOR, tenant, KIND, tag_id)
    if tag is None:
        raise TagNotFound()
    return tag


def _check_unique(sandbox: Sandbox, tenant: str, name: str, tag_id: str | None = None) -> None:
    lowered = name.casefold()
    if sandbox.store.list(
        VENDOR, tenant, KIND, lambda t: t["name"].casefold() == lowered and t["id"] != tag_id
    ):
        raise Conflict("An attachment tag with this name already exists")


def create(sandbox: Sandbox, tenant: str, name: str, color: str) -> dict[str, Any]:
    with sandbox.store.transaction() as store:
        _check_unique(sandbox, tenant, name)
        tag = {"id": sandbox.ids.uuid4(), "name": name, "color": color, "createdAt": sandbox.clock.now()}
        return store.put(VENDOR, tenant, KIND, tag["id"], tag)


def update(sandbox: Sandbox, tenant: str, tag_id: str, name: str | None, color: str | None) -> dict[str, Any]:
    with sandbox.store.transaction() as store:
        tag = get(sandbox, tenant, tag_id)
        if name is not None:
            _check_unique(sandbox, tenant, name, tag_id)
            tag["name"] = name
        if color is not None:
            tag["color"] = color
        return store.put(VENDOR, tenant, KIND, tag_id, tag)


def delete(sandbox: Sandbox, tenant: str, tag_id: str) -> dict[str, str]:
    with sandbox.store.transaction() as store:
        get(sandbox, tenant, tag_id)
        store.delete(VENDOR, tenant, KIND, tag_id)
        for record in store.list(VENDOR, tenant, "attachment", lambda r: tag_id in r["tags"]):
            record["tags"] = [tag for tag in record["tags"] if tag != tag_id]
            store.put(VENDOR, tenant, "attachment", record["id"], record)
    return {"message": "Tag deleted successfully"}


def listing(
    sandbox: Sandbox,
    tenant: str,
    name: str | None,
    page: int | None,
    per_page: int | None,
    sort_by: str | None,
    sort_direction: str | None,
) -> dict[str, Any]:
    """``Page[NoteAttachmentTagSummary]``."""
    needle = (name or "").casefold()
    found = sandbox.store.list(VENDOR, tenant, KIND, lambda t: needle in t["name"].casefold())
    if sort_by == "createdDate":
        found.sort(key=lambda t: t["createdAt"])
    else:
        found.sort(key=lambda t: t["name"].casefold())
    if sort_direction == "desc":
        found.reverse()
    size = min(MAX_PER_PAGE, max(1, per_page or DEFAULT_PER_PAGE))
    start = (max(1, page or 1) - 1) * size
    return {"data": [models.tag_summary(tag) for tag in found[start : start + size]], "total": len(found)}


def assign(sandbox: Sandbox, tenant: str, attachment_id: str, tag_ids: Sequence[str]) -> dict[str, str]:
    """Replace the attachment's tags. Raises: AttachmentNotFound; TagNotFound naming the first unknown id."""
    with sandbox.store.transaction() as store:
        record = models.get_attachment(sandbox, tenant, attachment_id)
        wanted = list(dict.fromkeys(tag_ids))
        for tag_id in wanted:
            if store.get(VENDOR, tenant, KIND, tag_id) is None:
                raise TagNotFound(f"Tag not found: {tag_id}")
        record["tags"] = wanted
        store.put(VENDOR, tenant, "attachment", attachment_id, record)
    return {"message": "Tags assigned successfully"}


def of_attachment(sandbox: Sandbox, tenant: str, attachment_id: str) -> list[dict[str, Any]]:
    record = models.get_attachment(sandbox, tenant, attachment_id)
    return models.tag_summaries(sandbox, tenant, record["tags"])
