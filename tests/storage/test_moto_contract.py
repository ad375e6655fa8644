"""What the embedded S3 uses of moto, checked by name so an upgrade that drops one fails here, loudly.

mock_server/storage/s3.py drives moto's S3 backend in-process: the backend registry and its object
methods, plus three details of ``FakeKey`` (its lock, its spooled buffer and size, which let a 25 MB
upload be stored without a second in-memory copy) and the per-model instance lists it stops moto from
filling. pyproject.toml caps moto's version; before raising the cap, run this module against the new
version.
"""

from __future__ import annotations

import inspect

import moto
import pytest
from moto.core import model_instances
from moto.s3 import models

from mock_server.storage.s3 import ObjectStore

BACKEND_METHODS = {
    "create_bucket": ["bucket_name", "region_name"],
    "put_object": ["bucket_name", "key_name", "value", "etag"],
    "get_object": ["bucket_name", "key_name"],
    "delete_object": ["bucket_name", "key_name"],
    "delete_bucket": ["bucket_name"],
}
FAKE_KEY_ATTRIBUTES = ("lock", "_value_buffer", "contentsize", "dispose", "set_metadata")


def test_moto_is_within_the_tested_range() -> None:
    major, minor = (int(part) for part in moto.__version__.split(".")[:2])
    assert (5, 0) <= (major, minor) < (5, 3), (
        f"moto {moto.__version__} is outside the range in pyproject.toml"
    )


def test_the_backend_registry_and_classes_exist() -> None:
    missing = [name for name in ("s3_backends", "S3Backend", "FakeKey") if not hasattr(models, name)]
    assert not missing, f"moto.s3.models no longer has {missing}"
    assert hasattr(model_instances, "model_data"), "moto.core.model_instances.model_data is gone"


@pytest.mark.parametrize("method", BACKEND_METHODS)
def test_backend_methods_keep_their_parameters(method: str) -> None:
    function = getattr(models.S3Backend, method, None)
    assert function is not None, f"S3Backend.{method} is gone"
    parameters = list(inspect.signature(function).parameters)
    missing = [name for name in BACKEND_METHODS[method] if name not in parameters]
    assert not missing, f"S3Backend.{method} lost parameters {missing}"


def test_a_stored_key_has_what_the_adapter_touches() -> None:
    store = ObjectStore("us-east-1")
    try:
        store.ensure_bucket("contract")
        backend = store._backend
        key = backend.put_object(store._internal("contract"), "k", b"")
        missing = [name for name in FAKE_KEY_ATTRIBUTES if not hasattr(key, name)]
        assert not missing, f"moto's FakeKey lost {missing}"
        # the continuation tokens ListObjectsV2 gave out (storage/s3_api.py checks a token against them)
        assert isinstance(getattr(backend, "_pagination_tokens", None), dict)
        s3_models = model_instances.model_data["s3"]
        assert s3_models and all(hasattr(model, "instances_tracked") for model in s3_models.values())
    finally:
        store.close()
