"""A small Python client of leaf.agleader.v1.AgLeaderCredentials.

    from agleader_client import AgLeaderClient, AgLeaderError

    with AgLeaderClient("127.0.0.1:50051") as client:
        creds = client.create_credentials(user_id, refresh_token=..., public_key=...,
                                          private_key=...)
        try:
            client.get_credentials(other_user_id)
        except AgLeaderError as e:
            print(e.code.name, e.reason, e.metadata)   # NOT_FOUND CREDENTIALS_NOT_FOUND {...}

Every error of the service carries a google.rpc.Status in the trailing
metadata entry `grpc-status-details-bin`; decode_error() parses it and unpacks
the google.rpc.ErrorInfo (reason, domain, metadata), BadRequest (field
violations) and RetryInfo (retry delay) it holds.

Stubs: generated from proto/ by gen_stubs.py. If they are not importable
(not on sys.path), they are generated once into a cache directory
($AGLEADER_PY_STUBS_DIR, else ~/.cache/agleader-credentials/), which needs
this file to sit in a checkout of the repository.
"""

import dataclasses
import hashlib
import json
import os
import sys
from typing import Dict, Iterator, List, Optional, Tuple

import grpc

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The service config the deployment recommends (retries, timeouts), used when
# present and no other is given.
DEFAULT_SERVICE_CONFIG = os.path.join(REPO, "client", "service_config.json")
ERROR_DOMAIN = "leaf.agleader.v1"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def _import_stubs():
    # pylint: disable=import-outside-toplevel
    from google.rpc import error_details_pb2, status_pb2
    from leaf.agleader.v1 import agleader_credentials_pb2, agleader_credentials_pb2_grpc

    return agleader_credentials_pb2, agleader_credentials_pb2_grpc, status_pb2, error_details_pb2


def _load_stubs():
    try:
        return _import_stubs()
    except ImportError:
        pass
    import gen_stubs  # pylint: disable=import-outside-toplevel

    digest = hashlib.sha256()
    for root, rel in [(os.path.join(REPO, "proto"), p) for p in gen_stubs.SERVICE_PROTOS] + [
        (os.path.join(REPO, "third_party", "googleapis"), p) for p in gen_stubs.RPC_PROTOS
    ]:
        with open(os.path.join(root, rel), "rb") as f:
            digest.update(f.read())
    out = os.environ.get("AGLEADER_PY_STUBS_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "agleader-credentials", "py-" + digest.hexdigest()[:16]
    )
    if not os.path.exists(
        os.path.join(out, "leaf", "agleader", "v1", "agleader_credentials_pb2_grpc.py")
    ):
        gen_stubs.generate(out)
    sys.path.insert(0, out)
    for name in [m for m in sys.modules if m == "google.rpc" or m.startswith("leaf")]:
        del sys.modules[name]  # forget a failed partial import
    return _import_stubs()


if HERE not in sys.path:
    sys.path.append(HERE)  # for gen_stubs
pb, pb_grpc, status_pb2, error_details_pb2 = _load_stubs()


@dataclasses.dataclass
class ErrorDetails:
    """What a failed call tells, decoded from its status and its details."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: Dict[str, str] = dataclasses.field(default_factory=dict)
    field_violations: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    retry_delay: Optional[float] = None  # seconds, from google.rpc.RetryInfo


class AgLeaderError(Exception):
    """A failed RPC. Its fields are those of ErrorDetails (e.code, e.reason, e.metadata, ...);
    the original grpc.RpcError is __cause__."""

    def __init__(self, details: ErrorDetails):
        super().__init__(f"{details.code.name}: {details.message}")
        self.details = details
        for field in dataclasses.fields(details):
            setattr(self, field.name, getattr(details, field.name))


def decode_error(error: grpc.RpcError) -> ErrorDetails:
    """Decodes the status and the google.rpc details of a failed call."""
    details = ErrorDetails(code=error.code(), message=error.details() or "")
    raw = None
    for key, value in error.trailing_metadata() or ():
        if key == _STATUS_DETAILS_KEY:
            raw = value
    if raw is None:
        return details
    status = status_pb2.Status.FromString(raw)
    for any_detail in status.details:
        if any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_detail.Unpack(info)
            details.reason, details.domain = info.reason, info.domain
            details.metadata = dict(info.metadata)
        elif any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_detail.Unpack(bad)
            details.field_violations += [(v.field, v.description) for v in bad.field_violations]
        elif any_detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            any_detail.Unpack(retry)
            details.retry_delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return details


def load_service_config(path: Optional[str] = None) -> Optional[str]:
    """The gRPC service config JSON to use: `path`, else $AGLEADER_CLIENT_SERVICE_CONFIG,
    else client/service_config.json if it exists; None for none (or for "none", as in
    the C++ client)."""
    path = path or os.environ.get("AGLEADER_CLIENT_SERVICE_CONFIG")
    if path == "none":
        return None
    if not path:
        if not os.path.exists(DEFAULT_SERVICE_CONFIG):
            return None
        path = DEFAULT_SERVICE_CONFIG
    with open(path, encoding="utf-8") as f:
        text = f.read()
    json.loads(text)  # fail here, clearly, rather than inside gRPC
    return text


class AgLeaderClient:
    """One channel to the service; each method is one RPC with a deadline."""

    def __init__(
        self,
        target: str,
        timeout: float = 10.0,
        service_config: Optional[str] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        api_key: Optional[str] = None,
    ):
        """`api_key` (else $AGLEADER_CLIENT_API_KEY) is sent as `authorization: Bearer <key>`
        to a server started with --api_keys; `credentials` are TLS channel credentials."""
        options = [("grpc.enable_retries", 1)]
        config = load_service_config(service_config)
        if config is not None:
            options.append(("grpc.service_config", config))
        if credentials is None:
            self._channel = grpc.insecure_channel(target, options=options)
        else:
            self._channel = grpc.secure_channel(target, credentials, options=options)
        self._stub = pb_grpc.AgLeaderCredentialsStub(self._channel)
        self._timeout = timeout
        api_key = api_key if api_key is not None else os.environ.get("AGLEADER_CLIENT_API_KEY", "")
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._channel.close()

    def _call(self, method, request):
        try:
            return method(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise AgLeaderError(decode_error(e)) from e

    def create_credentials(
        self,
        leaf_user_id: str,
        *,
        refresh_token: str,
        public_key: str,
        private_key: str,
        access_token: str = "",
        view: int = pb.CREDENTIALS_VIEW_BASIC,
    ):
        """Attaches credentials to a Leaf user; returns the stored Credentials."""
        return self._call(
            self._stub.CreateCredentials,
            pb.CreateCredentialsRequest(
                leaf_user_id=leaf_user_id,
                refresh_token=refresh_token,
                public_key=public_key,
                private_key=private_key,
                access_token=access_token,
                view=view,
            ),
        )

    def get_credentials(self, leaf_user_id: str, view: int = pb.CREDENTIALS_VIEW_BASIC):
        """Returns a Leaf user's Credentials (AgLeaderError NOT_FOUND when none)."""
        return self._call(
            self._stub.GetCredentials,
            pb.GetCredentialsRequest(leaf_user_id=leaf_user_id, view=view),
        )

    def delete_credentials(self, leaf_user_id: str, allow_missing: bool = False) -> None:
        """Removes a Leaf user's credentials."""
        self._call(
            self._stub.DeleteCredentials,
            pb.DeleteCredentialsRequest(leaf_user_id=leaf_user_id, allow_missing=allow_missing),
        )

    def list_credential_events(self, leaf_user_id: str, page_size: int = 0, page_token: str = ""):
        """One page of events, newest first: a ListCredentialEventsResponse."""
        return self._call(
            self._stub.ListCredentialEvents,
            pb.ListCredentialEventsRequest(
                leaf_user_id=leaf_user_id, page_size=page_size, page_token=page_token
            ),
        )

    def iter_credential_events(self, leaf_user_id: str, page_size: int = 0) -> Iterator:
        """Every event, newest first, following next_page_token."""
        token = ""
        while True:
            page = self.list_credential_events(leaf_user_id, page_size, token)
            yield from page.events
            token = page.next_page_token
            if not token:
                return
