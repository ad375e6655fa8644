"""Decoda's request and response models, field for field as in Decoda's published OpenAPI.

Source: ``openapi.yaml`` of the public repository ``decoda-health/docs`` (Decoda API 1.0), components
of the same names. Keys are camelCase in JSON bodies and responses, as there. Only pydantic here:
the routes give these models to FastAPI, which generates the served document and the 422 bodies from
them (tests/vendors/decoda/test_decoda_contract.py checks them against Decoda's document).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class UserType(StrEnum):
    PROVIDER = "PROVIDER"
    PATIENT = "PATIENT"
    ASSISTANT = "ASSISTANT"


class PatientSource(StrEnum):
    SELF_SCHEDULING = "SELF_SCHEDULING"
    CALL = "CALL"
    TEXT = "TEXT"
    MANUALLY_CREATED = "MANUALLY_CREATED"
    UPLOADED_FROM_FILE = "UPLOADED_FROM_FILE"
    FORM = "FORM"
    SEED_DATA = "SEED_DATA"
    DEMO = "DEMO"
    EXTERNAL_INTEGRATION = "EXTERNAL_INTEGRATION"
    OTHER = "OTHER"


# -- request bodies ------------------------------------------------------------------------------
class LinkAttachmentsToNoteRequest(BaseModel):
    noteId: str
    attachmentIds: list[str]


class NoteAttachmentNameUpdate(BaseModel):
    name: str


class BulkAttachmentNameUpdateItem(BaseModel):
    attachmentId: str
    name: str


class BulkAttachmentNameUpdate(BaseModel):
    updates: list[BulkAttachmentNameUpdateItem]


class ChangeAttachmentPatientRequest(BaseModel):
    patientId: str


class ImageTransform(BaseModel):
    """Transform parameters for image alignment in comparisons."""

    panX: float = 0
    panY: float = 0
    zoom: float = 1
    cropX: float | None = None
    cropY: float | None = None
    cropWidth: float | None = None
    cropHeight: float | None = None
    mirror: bool = False


class CreateComparisonAttachmentRequest(BaseModel):
    beforeAttachmentId: str
    afterAttachmentId: str
    patientId: str
    noteId: str | None = None
    mode: str = "side-by-side"
    sliderPosition: float = 50.0
    name: str | None = None
    beforeImageName: str | None = None
    afterImageName: str | None = None
    beforeTransform: ImageTransform | None = None
    afterTransform: ImageTransform | None = None


class NoteAttachmentTagCreate(BaseModel):
    name: str
    color: str = "#3B82F6"


class NoteAttachmentTagUpdate(BaseModel):
    name: str | None = None
    color: str | None = None


class NoteAttachmentTagAssignment(BaseModel):
    tagIds: list[str]


class NoteAttachmentFromUrlRequest(BaseModel):
    gcsPath: str
    name: str | None = None
    externalId: str | None = None
    answerId: str


# -- responses -----------------------------------------------------------------------------------
class NoteAttachmentTagSummary(BaseModel):
    id: str
    name: str
    color: str
    createdDate: dt.datetime | None = None


class PatientTagSummary(BaseModel):
    id: str
    name: str
    emoji: str | None = None
    color: str | None = None
    isActive: bool
    createdDate: dt.datetime
    updatedDate: dt.datetime | None = None


class PatientSummary(BaseModel):
    id: str = Field(description="The unique identifier for the user.")
    firstName: str | None = None
    lastName: str | None = None
    phoneNumber: str | None = None
    email: str | None = None
    type: UserType
    locationId: str | None = None
    externalId: str | None = None
    address: str | None = None
    addressLineTwo: str | None = None
    city: str | None = None
    state: str | None = None
    zipCode: str | None = None
    country: str | None = None
    createdDate: dt.datetime
    addressValid: bool | None = None
    meta: dict[str, Any] | None = None
    isArchived: bool | None = None
    primaryLocationId: str | None = None
    gender: str | None = None
    pronouns: str | None = None
    preferredName: str | None = Field(default=None, max_length=255)
    dateOfBirth: dt.date | None = None
    patientMedications: list[str] | None = None
    patientSource: PatientSource | None = None
    leadSource: str | None = None
    onSchedulingBlacklist: bool | None = None
    surchargeDisabled: bool | None = None
    tags: list[PatientTagSummary] | None = None
    creditBalance: int | None = None
    preferredProviderId: str | None = None
    dosespotPatientId: str | None = None


class PatientChart(PatientSummary):
    """``PatientSummary`` plus the chart; lists Decoda types in detail are kept as plain objects."""

    memberships: list[dict[str, Any]] | None = None
    goalWeight: float | None = None
    measurements: list[dict[str, Any]] | None = None
    medications: list[dict[str, Any]] | None = None
    optedOutOfSms: bool | None = None
    appointmentCount: int | None = None
    totalSpent: int | None = None
    healthData: dict[str, Any] | None = None
    profilePictureUrl: str | None = None


class NoteAttachmentNote(BaseModel):
    id: str
    createdDate: dt.datetime


class ProviderTiny(BaseModel):
    id: str
    firstName: str
    lastName: str | None = None
    email: str | None = None
    createdDate: dt.datetime | None = None


class NoteAttachmentResponse(BaseModel):
    id: str
    noteId: str | None = None
    gcsPath: str
    originalFilename: str
    signedUrl: str
    thumbnailSignedUrl: str | None = None
    annotations: list[dict[str, Any]] | None = None
    name: str
    createdDate: dt.datetime
    externalId: str | None = None
    patient: PatientSummary | None = None
    note: NoteAttachmentNote | None = None
    provider: ProviderTiny | None = None
    tags: list[NoteAttachmentTagSummary] = []


class BulkAttachmentUploadResponse(BaseModel):
    """Response for bulk attachment upload endpoint."""

    attachments: list[NoteAttachmentResponse]


class AttachmentDayPage(BaseModel):
    """Represents a single day page of attachments for infinite scrolling by date."""

    date: dt.date
    data: list[NoteAttachmentResponse]
    nextDate: dt.date | None = None


class Page(BaseModel, Generic[T]):
    """One page of a listing and the total count (``Page[NoteAttachmentTagSummary]``)."""

    data: list[T]
    total: int


class SignedPreviewResponse(BaseModel):
    signedUrl: str


class AttachmentUrlInfo(BaseModel):
    """Signed URL info for a single attachment."""

    attachmentId: str
    signedUrl: str


class MessageAttachmentUrlsResponse(BaseModel):
    """Response containing signed URLs for message attachments, keyed by content_id."""

    byContentId: dict[str, AttachmentUrlInfo] = {}
    byAttachmentId: dict[str, str] = {}
    expiresAt: dt.datetime


class HTTPError(BaseModel):
    """A refusal raised as ``HTTPException``: ``{"detail": "<message>"}``."""

    detail: str


SortDirection = Literal["asc", "desc"]
