"""The S3-compatible storage backend (Amazon S3, MinIO, Ceph, Alibaba OSS and Tencent COS in
their S3 modes): PUT, GET, HEAD and DELETE Object over ``requests``, signed with Signature
Version 4 (``sigv4``). No SDK: private installs keep their dependencies few."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import requests

from loandesk.storage import CHUNK, NotStored, StorageError, check_key
from loandesk.storage.sigv4 import sign, uri_encode

TIMEOUT = (5, 60)  # seconds to connect, seconds between bytes
_ERROR_CODE = re.compile(rb"<Code>([^<]{1,100})</Code>")


class S3Storage:
    name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        path_style: bool = False,
        http: requests.Session | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.region = region
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.path_style = path_style
        self.http = http or requests.Session()

    def url(self, key: str) -> str:
        path = uri_encode(check_key(key), slash=True)
        parts = urlsplit(self.endpoint)
        if self.path_style:
            return urlunsplit(
                (parts.scheme, parts.netloc, f"{parts.path}/{self.bucket}/{path}", "", "")
            )
        host = f"{self.bucket}.{parts.netloc}"
        return urlunsplit((parts.scheme, host, f"{parts.path}/{path}", "", ""))

    def _request(
        self,
        method: str,
        key: str,
        *,
        data: bytes = b"",
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = self.url(key)
        signed = sign(
            method,
            url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            headers=headers,
            payload_hash=hashlib.sha256(data).hexdigest(),
        )
        try:
            return self.http.request(
                method, url, data=data or None, headers=signed, timeout=TIMEOUT, stream=stream
            )
        except requests.RequestException as exc:
            raise StorageError(f"object storage unreachable: {exc}") from exc

    def _fail(self, response: requests.Response, key: str) -> StorageError:
        if response.status_code == 404:
            return NotStored(key)
        found = _ERROR_CODE.search(response.content[:2000]) if response.content else None
        code = found.group(1).decode("utf-8", "replace") if found else ""
        return StorageError(f"object storage answered {response.status_code} {code}".strip())

    def put(self, key: str, data: bytes, content_type: str) -> None:
        response = self._request("PUT", key, data=data, headers={"content-type": content_type})
        if response.status_code != 200:
            raise self._fail(response, key)

    def get(self, key: str) -> bytes:
        response = self._request("GET", key)
        if response.status_code != 200:
            raise self._fail(response, key)
        return response.content

    def stream(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        response = self._request("GET", key, stream=True)
        if response.status_code != 200:
            error = self._fail(response, key)
            response.close()
            raise error
        return _chunks(response, chunk_size)

    def delete(self, key: str) -> None:
        response = self._request("DELETE", key)
        if response.status_code not in (200, 204, 404):
            raise self._fail(response, key)

    def exists(self, key: str) -> bool:
        response = self._request("HEAD", key)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise self._fail(response, key)
        return True


def _chunks(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    with response:
        yield from response.iter_content(chunk_size)
