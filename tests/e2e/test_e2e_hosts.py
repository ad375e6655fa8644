"""Generated URLs follow the Host each request used, so one server works for the docker host
(published port) and for other containers (service name) without configuration; a URL used
through another host fails with an S3 message that says so.

Real sockets; the ``Host`` header stands for the name a client reached the server by.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
import requests

from mock_server.testing.server import LiveServer

HOSTS = ("sandbox:8080", "localhost:18080")  # another container's view, the docker host's view
QUBS_URLS = "/qubs/integrations/v1/acme/reporting/appointments/A123456/report/attachments"


def upload_url_for(live: LiveServer, host: str) -> str:
    response = requests.post(
        live.url + QUBS_URLS,
        headers={"Host": host, "Authorization": "Bearer qubs-dev-token"},
        json={"items": [{"fileName": "report.pdf", "contentType": "application/pdf"}]},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["items"][0]["uploadUrl"]


def send_to_live(live: LiveServer, url: str, host: str, body: bytes) -> requests.Response:
    """PUT to the live server, whatever host the URL names, with ``Host: host``."""
    parts = urlsplit(url)
    return requests.put(
        f"{live.url}{parts.path}?{parts.query}",
        data=body,
        timeout=10,
        headers={"Host": host, "Content-Type": "application/pdf"},
    )


@pytest.mark.parametrize("host", HOSTS)
def test_admin_and_index_urls_use_the_callers_host(live: LiveServer, host: str) -> None:
    vendors = requests.get(live.url + "/__admin/vendors", headers={"Host": host}, timeout=10).json()[
        "vendors"
    ]
    assert {url.split("/")[2] for vendor in vendors for url in vendor["baseUrls"]} == {host}
    index = requests.get(
        live.url + "/", headers={"Host": host, "Accept": "application/json"}, timeout=10
    ).json()
    assert index["admin"]["health"] == f"http://{host}/__admin/health"


def test_two_hosts_get_upload_urls_for_their_own_host(live: LiveServer) -> None:
    urls = {host: upload_url_for(live, host) for host in HOSTS}
    assert {host: urlsplit(url).netloc for host, url in urls.items()} == {host: host for host in HOSTS}
    for host, url in urls.items():
        assert send_to_live(live, url, host, b"%PDF-1.7 ok").status_code == 200


def test_url_used_through_another_host_is_explained(live: LiveServer) -> None:
    issued_for, used_as = HOSTS
    response = send_to_live(live, upload_url_for(live, issued_for), used_as, b"%PDF-1.7 wrong door")
    assert response.status_code == 403
    error = ET.fromstring(response.content)
    assert error.findtext("Code") == "SignatureDoesNotMatch"
    message = error.findtext("Message") or ""
    assert f"signed for host '{issued_for}'" in message and f"sent to host '{used_as}'" in message
    assert "use the URL exactly as issued" in message
