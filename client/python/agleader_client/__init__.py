"""A small Python client of leaf.agleader.v1.AgLeaderCredentials.

    from agleader_client import AgLeaderClient, AgLeaderError

    with AgLeaderClient("127.0.0.1:50051") as client:
        creds = client.create_credentials(user_id, refresh_token=..., public_key=...,
                                          private_key=...)
        try:
            client.get_credentials(other_user_id)
        except AgLeaderError as e:
            print(e.code.name, e.reason, e.metadata)   # NOT_FOUND CREDENTIALS_NOT_FOUND {...}
        link = client.create_connect_link(user_id, ttl=datetime.timedelta(days=7))
        print(link.url)                     # send it to the grower
        client.get_connect_link(link.name).state == pb.ConnectLink.CONNECTED   # later

Every error of the service carries a google.rpc.Status in the trailing
metadata entry `grpc-status-details-bin`; decode_error() parses it and unpacks
the google.rpc.ErrorInfo (reason, domain, metadata), BadRequest (field
violations) and RetryInfo (retry delay) it holds.

Install: `pip install ./client/python` (see docs/clients.md); the package
holds its stubs (generated from the bundled .proto files when it is built),
the .proto files (agleader_client/protos) and the recommended service config.
"""

import dataclasses
import datetime
import json
import os
from importlib import resources
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import grpc

from .rewatch import Rewatcher, RewatchPolicy, is_retriable

try:
    from ._gen import agleader_credentials_pb2 as pb
    from ._gen import agleader_credentials_pb2_grpc as pb_grpc
    from ._gen import error_details_pb2, status_pb2
except ImportError as e:  # a source checkout: the stubs exist once the package is built
    raise ImportError(
        "agleader_client has no generated stubs: install it (pip install ./client/python) "
        "rather than importing it from the source tree"
    ) from e

ERROR_DOMAIN = "leaf.agleader.v1"
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def shipped_service_config() -> str:
    """The service config the deployment recommends (retries, timeouts), bundled
    in the package (client/service_config.json of the repository)."""
    return resources.files(__name__).joinpath("service_config.json").read_text(encoding="utf-8")


def proto_dir() -> str:
    """The directory of the bundled .proto files (leaf/agleader/v1/...,
    google/rpc/...), e.g. for grpcurl -import-path."""
    return str(resources.files(__name__).joinpath("protos"))


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
    return _add_status_details(details, status_pb2.Status.FromString(raw))


def decode_result_error(error) -> ErrorDetails:
    """Decodes the `error` (an ErrorStatus, wire-compatible with google.rpc.Status)
    of one BatchGetCredentialsResult."""
    code = _CODES.get(error.code, grpc.StatusCode.UNKNOWN)
    details = ErrorDetails(code=code, message=error.message)
    return _add_status_details(details, status_pb2.Status.FromString(error.SerializeToString()))


_CODES = {c.value[0]: c for c in grpc.StatusCode}


def _add_status_details(details: ErrorDetails, status) -> ErrorDetails:
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
    else the shipped one (shipped_service_config()); None for "none", as in the C++
    client."""
    path = path or os.environ.get("AGLEADER_CLIENT_SERVICE_CONFIG")
    if path == "none":
        return None
    if not path:
        return shipped_service_config()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    json.loads(text)  # fail here, clearly, rather than inside gRPC
    return text


def _read_pem(flag: str, path: str, marker: str, what: str) -> bytes:
    """Reads a PEM file given as --`flag`; a wrong file fails here, naming the flag and
    the path (never the content), rather than as an obscure handshake error."""
    try:
        with open(path, "rb") as f:
            pem = f.read()
    except OSError as e:
        raise ValueError(f'--{flag}: cannot read "{path}": {e.strerror}') from None
    if b"-----BEGIN " not in pem or marker.encode() not in pem:
        raise ValueError(f'--{flag}: "{path}" holds no PEM {what}')
    return pem


def read_api_key_file(path: str) -> str:
    """The API key in `path`: its one line that is not blank or a # comment, surrounding
    whitespace dropped (as the C++ client's --api_key_file). ValueError otherwise; the
    message never holds the key."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f'--api_key_file: cannot read "{path}": {e}') from None
    key = None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if key is not None:
            raise ValueError(
                f'--api_key_file: "{path}" holds a second key (line {number}); '
                "give the file of one key"
            )
        key = line
    if key is None:
        raise ValueError(f'--api_key_file: "{path}" holds no key')
    return key


def tls_credentials(
    ca_file: Optional[str] = None, cert_file: Optional[str] = None, key_file: Optional[str] = None
) -> grpc.ChannelCredentials:
    """TLS channel credentials: the server's certificate verified against `ca_file` (else
    gRPC's default roots); with `cert_file` and `key_file`, mutual TLS. ValueError for a
    missing half of the client pair or a file without a PEM certificate / private key."""
    if bool(cert_file) != bool(key_file):
        raise ValueError("mutual TLS needs both --cert_file and --key_file")
    root = _read_pem("ca_file", ca_file, "CERTIFICATE-----", "certificate") if ca_file else None
    chain = key = None
    if cert_file:
        chain = _read_pem("cert_file", cert_file, "CERTIFICATE-----", "certificate")
        key = _read_pem("key_file", key_file, "PRIVATE KEY-----", "private key")
    return grpc.ssl_channel_credentials(
        root_certificates=root, private_key=key, certificate_chain=chain
    )


class AgLeaderClient:
    """One channel to the service; each method is one RPC with a deadline."""

    def __init__(
        self,
        target: str,
        timeout: float = 10.0,
        service_config: Optional[str] = None,
        credentials: Optional[grpc.ChannelCredentials] = None,
        api_key: Optional[str] = None,
        server_name: Optional[str] = None,
    ):
        """`api_key` (else $AGLEADER_CLIENT_API_KEY) is sent as `authorization: Bearer <key>`
        to a server started with --api_keys; `credentials` are TLS channel credentials
        (tls_credentials()); `server_name` overrides the name the server's certificate
        must carry (default: the host of `target`)."""
        options = [("grpc.enable_retries", 1)]
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
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

    def list_credentials(
        self,
        page_size: int = 0,
        page_token: str = "",
        statuses: Sequence[int] = (),
        view: int = pb.CREDENTIALS_VIEW_BASIC,
    ):
        """One page of every user's credentials: a ListCredentialsResponse.

        A page may hold fewer than page_size credentials (even none) and still
        have a next_page_token: stop only when the token is empty.
        """
        return self._call(
            self._stub.ListCredentials,
            pb.ListCredentialsRequest(
                page_size=page_size, page_token=page_token, statuses=list(statuses), view=view
            ),
        )

    def iter_credentials(
        self,
        page_size: int = 0,
        statuses: Sequence[int] = (),
        view: int = pb.CREDENTIALS_VIEW_BASIC,
    ) -> Iterator:
        """Every user's Credentials (of those statuses), following next_page_token."""
        token = ""
        while True:
            page = self.list_credentials(page_size, token, statuses, view)
            yield from page.credentials
            token = page.next_page_token
            if not token:
                return

    def batch_get_credentials(
        self, leaf_user_ids: Sequence[str], view: int = pb.CREDENTIALS_VIEW_BASIC
    ) -> List:
        """One BatchGetCredentialsResult per id (1 to 500), in order.

        Each holds `credentials` or `error`; decode_result_error() turns an
        error into ErrorDetails.
        """
        response = self._call(
            self._stub.BatchGetCredentials,
            pb.BatchGetCredentialsRequest(leaf_user_ids=list(leaf_user_ids), view=view),
        )
        return list(response.results)

    def watch_credentials(
        self,
        leaf_user_ids: List[str],
        view: int = pb.CREDENTIALS_VIEW_BASIC,
        timeout: Optional[float] = None,
        resume_token: Optional[str] = None,
        max_rewatches: Optional[int] = None,
        on_rewatch: Optional[Callable[[ErrorDetails, float, int], None]] = None,
        policy: Optional[RewatchPolicy] = None,
    ) -> Iterator:
        """Yields each CredentialsChange of the users' credentials as it happens, starting
        with the state of every user (CHANGE_KIND_INITIAL), or with what changed after
        `resume_token` (a change's `resume_token` from an earlier watch; CHANGE_KIND_RESYNC
        snapshots when the server no longer knows it).

        When a stream ends with a retriable status (UNAVAILABLE: a server shutting down or
        rebalancing, a broken connection; see agleader_client.rewatch) the generator watches
        the same users again with the `resume_token` of the last change it yielded, after a
        backoff (100 ms doubling to 10 s, or the server's RetryInfo), and goes on yielding:
        for ever, or at most `max_rewatches` times in a row without a change (0: never).
        `on_rewatch(details, delay_seconds, attempt)` is called before each wait. Each
        change carries its own `resume_token`: keep the last one to continue later.

        Each stream has no deadline unless `timeout` is given; leaving the loop (or closing
        the generator) cancels it. Raises AgLeaderError when a stream ends for good."""
        rewatcher = Rewatcher(max_rewatches, policy or RewatchPolicy())
        clock = rewatcher.policy.clock
        request = pb.WatchCredentialsRequest(
            leaf_user_ids=list(leaf_user_ids), view=view, resume_token=resume_token or ""
        )
        while True:
            started = clock()
            call = self._stub.WatchCredentials(request, timeout=timeout, metadata=self._metadata)
            try:
                for change in call:
                    rewatcher.on_change()
                    # A server without resume support sends none: keep the last one.
                    if change.resume_token:
                        request.resume_token = change.resume_token
                    yield change
                return
            except grpc.RpcError as e:
                details = decode_error(e)
                delay = rewatcher.on_end(details, clock() - started)
                if delay is None:
                    raise AgLeaderError(details) from e
            finally:
                call.cancel()
            if on_rewatch is not None:
                on_rewatch(details, delay, rewatcher.attempts)
            rewatcher.policy.sleep(delay)

    def create_connect_link(
        self,
        leaf_user_id: str,
        return_url: str = "",
        ttl: Optional[Union[float, datetime.timedelta]] = None,
    ):
        """Creates a connect link: a ConnectLink whose `url` the grower opens to
        re-authorize AgLeader; the server then attaches the credentials itself (the
        grower's refresh token never passes through the caller). `ttl` (seconds or a
        timedelta, 1 minute to 30 days) defaults to the server's --connect_link_ttl.
        Follow the link with get_connect_link(link.name) or watch_credentials()."""
        request = pb.CreateConnectLinkRequest(leaf_user_id=leaf_user_id, return_url=return_url)
        if ttl is not None:
            if not isinstance(ttl, datetime.timedelta):
                ttl = datetime.timedelta(seconds=ttl)
            request.ttl.FromTimedelta(ttl)
        return self._call(self._stub.CreateConnectLink, request)

    def get_connect_link(self, name: str):
        """Returns the ConnectLink `name` (connectLinks/ID) and how far its grower got:
        `state` PENDING, CONNECTED (with `credentials_id`), DENIED, FAILED (with `error`)
        or EXPIRED. AgLeaderError NOT_FOUND (CONNECT_LINK_NOT_FOUND) for an unknown name."""
        return self._call(self._stub.GetConnectLink, pb.GetConnectLinkRequest(name=name))

    def iter_credential_events(self, leaf_user_id: str, page_size: int = 0) -> Iterator:
        """Every event, newest first, following next_page_token."""
        token = ""
        while True:
            page = self.list_credential_events(leaf_user_id, page_size, token)
            yield from page.events
            token = page.next_page_token
            if not token:
                return
