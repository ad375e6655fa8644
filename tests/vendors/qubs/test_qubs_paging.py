"""QUBS list paging: the cursor list (``pageSize``/``nextToken``) of the reporting attachments and the
offset list (``skip``/``take``) of the read side, walked to the end; bad values are 400 problem+json.

Every page goes through ``qubs.call``, which validates the body against openapi.yaml.
"""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.vendors.qubs import paging

FIXTURE_ATTACHMENTS = 2  # A123456's attachments in the default fixtures


@pytest.fixture
def guids(qubs) -> list[str]:
    """Every attachment of A123456, oldest first, after adding 118 (120 in all: past one default page)."""
    for batch in range(6):
        items = [{"fileName": f"page-{batch}-{n}.pdf"} for n in range(20 if batch < 5 else 18)]
        assert qubs.create_urls(items).status_code == 201
    listed = qubs.reporting_attachments(pageSize=500).json()
    assert "nextToken" not in listed and len(listed["items"]) == 118 + FIXTURE_ATTACHMENTS
    return [item["guid"] for item in listed["items"]]


def problem(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"].rsplit(":", 1)[-1], body["detail"].split(":", 1)[0]


class TestReportingAttachmentsCursor:
    @pytest.mark.parametrize("size", [1, 7, 50, 119, 120, 500], ids=lambda n: f"pageSize-{n}")
    def test_walks_every_page_to_the_end(self, qubs, guids: list[str], size: int) -> None:
        seen, sizes, token = [], [], None
        while True:
            page = qubs.reporting_attachments(pageSize=size, **({"nextToken": token} if token else {})).json()
            seen += [item["guid"] for item in page["items"]]
            sizes.append(len(page["items"]))
            token = page.get("nextToken")
            if token is None:
                break
        assert seen == guids
        assert sizes == [min(size, len(guids) - start) for start in range(0, len(guids), size)]

    def test_default_page_is_100(self, qubs, guids: list[str]) -> None:
        first = qubs.reporting_attachments().json()
        assert [item["guid"] for item in first["items"]] == guids[:100]
        last = qubs.reporting_attachments(nextToken=first["nextToken"]).json()
        assert [item["guid"] for item in last["items"]] == guids[100:] and "nextToken" not in last

    def test_a_short_list_is_one_page(self, qubs) -> None:
        body = qubs.reporting_attachments().json()
        assert len(body["items"]) == FIXTURE_ATTACHMENTS and "nextToken" not in body

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"pageSize": 0}, "pageSize"),
            ({"pageSize": 501}, "pageSize"),
            ({"pageSize": "ten"}, "pageSize"),
            ({"nextToken": "not-a-token"}, "nextToken"),
            ({"nextToken": "eyJwYWdlIjoyfQ=="}, "nextToken"),
            ({"nextToken": paging.encode_cursor("no-such-guid")}, "nextToken"),
        ],
        ids=[
            "pageSize-0",
            "pageSize-501",
            "pageSize-text",
            "token-garbage",
            "token-foreign",
            "token-unknown",
        ],
    )
    def test_bad_values_are_400(self, qubs, params: dict[str, Any], field: str) -> None:
        assert problem(qubs.reporting_attachments(**params)) == (400, "bad-request", field)


class TestAppointmentAttachmentsOffset:
    @pytest.mark.parametrize("take", [1, 10, 100, 120, 500], ids=lambda n: f"take-{n}")
    def test_walks_every_page_until_a_short_one(self, qubs, guids: list[str], take: int) -> None:
        seen, skip = [], 0
        while True:
            page = qubs.attachments(params={"skip": skip, "take": take}).json()
            seen += [item["guid"] for item in page]
            skip += len(page)
            if len(page) < take:
                break
        assert seen == guids

    def test_default_take_is_100_from_the_start(self, qubs, guids: list[str]) -> None:
        assert [item["guid"] for item in qubs.attachments().json()] == guids[:100]

    @pytest.mark.parametrize(
        ("skip", "expected"), [(0, 5), (117, 3), (120, 0), (10_000, 0)], ids=["first", "last", "end", "past"]
    )
    def test_skip(self, qubs, guids: list[str], skip: int, expected: int) -> None:
        page = qubs.attachments(params={"skip": skip, "take": 5}).json()
        assert [item["guid"] for item in page] == guids[skip : skip + 5] and len(page) == expected

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"take": 0}, "take"),
            ({"take": 501}, "take"),
            ({"take": "all"}, "take"),
            ({"skip": -1}, "skip"),
            ({"skip": "1.5"}, "skip"),
        ],
        ids=["take-0", "take-501", "take-text", "skip-negative", "skip-fraction"],
    )
    def test_bad_values_are_400(self, qubs, params: dict[str, Any], field: str) -> None:
        assert problem(qubs.attachments(params=params)) == (400, "bad-request", field)
