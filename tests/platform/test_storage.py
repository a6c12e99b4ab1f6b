"""The storage setting and its backends: a local folder, and S3-compatible object storage
signed with Signature Version 4 (checked against AWS's published examples, and by a local S3
server that recomputes every signature)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loandesk.settings import Settings, SettingsError
from loandesk.storage import NotStored, StorageError, from_settings
from loandesk.storage.local import LocalStorage
from loandesk.storage.s3 import S3Storage
from loandesk.storage.sigv4 import canonical_request, sign, signature
from tests.platform.s3_server import FakeS3, running

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 300


def test_local_round_trip(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    key = "0190a1b2-tenant/0190a1b3-file"
    assert not store.exists(key)
    store.put(key, PNG, "image/png")
    assert store.exists(key)
    assert store.get(key) == PNG
    assert b"".join(store.stream(key, chunk_size=1000)) == PNG
    store.put(key, b"replaced", "text/plain")
    assert store.get(key) == b"replaced"
    assert [p.name for p in (tmp_path / "files" / "0190a1b2-tenant").iterdir()] == [
        "0190a1b3-file"
    ]  # no temporary file left behind
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting what is gone is no error
    with pytest.raises(NotStored):
        store.get(key)
    with pytest.raises(NotStored):
        store.stream(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/path", "a/../../b", "a//b", "a/./b", ""])
def test_keys_cannot_leave_the_folder(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).put(key, b"x", "text/plain")


def test_sigv4_matches_the_aws_test_suite_get_vanilla() -> None:
    # aws-sig-v4-test-suite "get-vanilla": no x-amz-content-sha256 header outside S3
    headers = sign(
        "GET",
        "https://example.amazonaws.com/",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="service",
        content_sha256_header=False,
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_sigv4_matches_the_s3_documentation_get_object_example() -> None:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    canonical, signed = canonical_request(
        "GET",
        "/test.txt",
        "",
        {
            "Host": "examplebucket.s3.amazonaws.com",
            "Range": "bytes=0-9",
            "x-amz-content-sha256": empty,
            "x-amz-date": "20130524T000000Z",
        },
        empty,
    )
    assert signed == "host;range;x-amz-content-sha256;x-amz-date"
    assert signature(SECRET, "20130524T000000Z", "us-east-1", "s3", canonical) == (
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


@pytest.fixture
def s3() -> Iterator[FakeS3]:
    with running(FakeS3(KEY, SECRET, "cn-east-1", {"loandesk"})) as server:
        yield server


def _client(s3: FakeS3, secret: str = SECRET) -> S3Storage:
    return S3Storage(
        endpoint=s3.endpoint,
        region="cn-east-1",
        bucket="loandesk",
        access_key=KEY,
        secret_key=secret,
        path_style=True,
    )


def test_s3_round_trip_against_a_server_that_checks_signatures(s3: FakeS3) -> None:
    store = _client(s3)
    key = "0190a1b2-tenant/0190a1b3-file"
    assert not store.exists(key)
    store.put(key, PNG, "image/png")
    assert s3.objects[("loandesk", key)] == (PNG, "image/png")
    assert store.exists(key)
    assert store.get(key) == PNG
    assert b"".join(store.stream(key, chunk_size=4096)) == PNG
    store.delete(key)
    assert ("loandesk", key) not in s3.objects
    assert not store.exists(key)
    with pytest.raises(NotStored):
        store.get(key)
    with pytest.raises(NotStored):
        store.stream(key)
    assert {status for _m, _p, status in s3.requests} <= {200, 204, 404}


def test_s3_refuses_a_wrong_secret_with_403(s3: FakeS3) -> None:
    store = _client(s3, secret="not-the-secret")
    with pytest.raises(StorageError, match="403 SignatureDoesNotMatch"):
        store.put("t/file", b"data", "text/plain")
    assert s3.objects == {}
    with pytest.raises(StorageError, match="403"):
        store.exists("t/file")
    assert [status for _m, _p, status in s3.requests] == [403, 403]


def test_s3_request_altered_after_signing_is_refused(s3: FakeS3) -> None:
    store = _client(s3)
    headers = sign(
        "PUT",
        store.url("t/a"),
        access_key=KEY,
        secret_key=SECRET,
        region="cn-east-1",
        headers={"content-type": "text/plain"},
    )
    import requests

    # signed for t/a, sent to t/b
    response = requests.put(store.url("t/b"), data=b"", headers=headers, timeout=5)
    assert response.status_code == 403
    assert b"SignatureDoesNotMatch" in response.content


def test_s3_urls_path_and_virtual_hosted_style() -> None:
    common = {"region": "r", "bucket": "files", "access_key": "k", "secret_key": "s"}
    path = S3Storage(endpoint="https://minio.example.cn:9000/", path_style=True, **common)
    assert path.url("t/a_b-1.png") == "https://minio.example.cn:9000/files/t/a_b-1.png"
    hosted = S3Storage(endpoint="https://oss-cn-hangzhou.aliyuncs.com", **common)
    assert hosted.url("t/x") == "https://files.oss-cn-hangzhou.aliyuncs.com/t/x"


def test_storage_settings_from_the_environment(tmp_path: Path) -> None:
    local = Settings.from_env({"LOANDESK_INSTANCE_PATH": str(tmp_path)})
    assert local.storage_backend == "local"
    assert local.attachments_path == tmp_path / "attachments"
    assert isinstance(from_settings(local), LocalStorage)
    assert local.attachment_max_size == 10 * 1024 * 1024
    env = {
        "LOANDESK_STORAGE_BACKEND": "s3",
        "LOANDESK_S3_ENDPOINT": "http://127.0.0.1:9000",
        "LOANDESK_S3_REGION": "cn-north-1",
        "LOANDESK_S3_BUCKET": "loandesk",
        "LOANDESK_S3_ACCESS_KEY": KEY,
        "LOANDESK_S3_SECRET_KEY": SECRET,
        "LOANDESK_S3_PATH_STYLE": "true",
        "LOANDESK_ATTACHMENT_MAX_SIZE": "2097152",
    }
    remote = Settings.from_env(env)
    store = from_settings(remote)
    assert isinstance(store, S3Storage)
    assert (store.region, store.bucket, store.path_style) == ("cn-north-1", "loandesk", True)
    assert remote.attachment_max_size == 2 * 1024 * 1024
    with pytest.raises(SettingsError, match="LOANDESK_S3_BUCKET"):
        Settings.from_env({**env, "LOANDESK_S3_BUCKET": ""})
    with pytest.raises(SettingsError, match="local or s3"):
        Settings.from_env({"LOANDESK_STORAGE_BACKEND": "ftp"})
    with pytest.raises(SettingsError):
        Settings.from_env({"LOANDESK_ATTACHMENT_MAX_SIZE": "0"})
    custom = Settings.from_env({"LOANDESK_STORAGE_PATH": str(tmp_path / "elsewhere")})
    assert custom.attachments_path == tmp_path / "elsewhere"
