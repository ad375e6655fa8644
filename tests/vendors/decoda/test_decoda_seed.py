"""Decoda's recorded ``POST /attachments/bulk`` response example (seed) against the sandbox's answer.

Same keys at every level, and the same JSON types wherever the sandbox has a value. Key order is not
compared: the docs example lists keys in its own order, while FastAPI serializes in the order of
Decoda's pydantic models, which is the property order of Decoda's OpenAPI (checked in
test_decoda_contract.py).
"""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

# The response example of docs.decodahealth.com/api-reference/provider/add-attachments-bulk, verbatim.
SEED_RESPONSE = json.loads(
    '{"attachments":[{"id":"<string>","gcsPath":"<string>","originalFilename":"<string>",'
    '"signedUrl":"<string>","name":"<string>","createdDate":"2023-11-07T05:31:56Z",'
    '"noteId":"<string>","thumbnailSignedUrl":"<string>","annotations":[{}],'
    '"externalId":"<string>","patient":{"id":"<string>","type":"PROVIDER","createdDate":"2023-11-07T05:31:56Z",'
    '"firstName":"<string>","lastName":"<string>","phoneNumber":"<string>",'
    '"email":"<string>","locationId":"<string>","externalId":"<string>","address":"<string>",'
    '"addressLineTwo":"<string>","city":"<string>","state":"<string>","zipCode":"<string>",'
    '"country":"<string>","addressValid":true,"meta":{},"isArchived":true,"primaryLocationId":"<string>",'
    '"gender":"<string>","pronouns":"<string>","preferredName":"<string>","dateOfBirth":"2023-12-25",'
    '"patientMedications":["<string>"],"patientSource":"SELF_SCHEDULING","leadSource":"<string>",'
    '"onSchedulingBlacklist":true,"surchargeDisabled":true,"tags":[{"id":"<string>",'
    '"name":"<string>","isActive":true,"createdDate":"2023-11-07T05:31:56Z",'
    '"emoji":"<string>","color":"<string>","updatedDate":"2023-11-07T05:31:56Z"}],'
    '"creditBalance":123,"preferredProviderId":"<string>","dosespotPatientId":"<string>"},'
    '"note":{"id":"<string>","createdDate":"2023-11-07T05:31:56Z"},"provider":{"id":"<string>",'
    '"firstName":"<string>","lastName":"<string>","email":"<string>","createdDate":"2023-11-07T05:31:56Z"},'
    '"tags":[{"id":"<string>","name":"<string>","color":"<string>","createdDate":"2023-11-07T05:31:56Z"}]}]}'
)


def same_shape(seed: Any, mine: Any, where: str = "$") -> None:
    if isinstance(seed, dict):
        assert isinstance(mine, dict), where
        assert sorted(mine) == sorted(seed), where
        for key, value in seed.items():
            same_shape(value, mine[key], f"{where}.{key}")
    elif isinstance(seed, list):
        assert isinstance(mine, list), where
        if seed and mine:
            same_shape(seed[0], mine[0], f"{where}[0]")
    elif mine is not None:
        kinds = (
            (bool,) if isinstance(seed, bool) else (int, float) if isinstance(seed, int | float) else (str,)
        )
        assert isinstance(mine, kinds) and not (kinds != (bool,) and isinstance(mine, bool)), where


def test_bulk_response_has_the_recorded_shape(client: TestClient) -> None:
    image = io.BytesIO()
    Image.new("RGB", (300, 300)).save(image, format="PNG")
    response = client.post(
        "/decoda/attachments/bulk",
        headers={"TENANT": "demo", "API-KEY": "decoda-dev-key"},
        data={"patient_id": "P1001", "note_id": "N2001", "names": "Before", "external_ids": "EXT-1"},
        files=[("attachments", ("before.png", image.getvalue(), "image/png"))],
    )
    assert response.status_code == 200
    mine = response.json()
    assert None not in mine["attachments"][0].values()
    same_shape(SEED_RESPONSE, mine)
