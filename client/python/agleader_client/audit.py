"""`agleader-client audit`: the state of many users' credentials, as the C++ client's
audit prints it (same columns, CSV header and JSON field names), with `--links`: a
connect link for every user who must re-authorize (UNAUTHENTICATED or
MISSING_PERMISSION), or that row's own failure to get one.

Exit code: 1 when a call or a user's read failed (ERROR rows), else 3 when some user
must re-authorize, else 0. A link that could not be created changes nothing: it is
reported in its row. Users Leaf's request budget deferred (LEAF_RATE_LIMITED) are asked
again after the server's RetryInfo delay (at most 60 s), up to
--max_rate_limited_waits rounds; whoever is left is an ERROR row.
"""

import datetime
import json
import time
from typing import Callable, Dict, List, Optional

from . import AgLeaderClient, AgLeaderError, decode_result_error, pb

REAUTHORIZE = ("UNAUTHENTICATED", "MISSING_PERMISSION")
_ORDER = (
    "OK",
    "UNAUTHENTICATED",
    "MISSING_PERMISSION",
    "TEMPORARILY_UNAVAILABLE",
    "UNKNOWN",
    "NO_CREDENTIALS",
    "ERROR",
)
_STATUS = {
    pb.CREDENTIAL_STATUS_OK: "OK",
    pb.CREDENTIAL_STATUS_UNAUTHENTICATED: "UNAUTHENTICATED",
    pb.CREDENTIAL_STATUS_MISSING_PERMISSION: "MISSING_PERMISSION",
    pb.CREDENTIAL_STATUS_TEMPORARILY_UNAVAILABLE: "TEMPORARILY_UNAVAILABLE",
}
_FIELDS = (
    "leaf_user_id",
    "status",
    "leaf_status",
    "create_time",
    "refresh_token_hint",
    "private_key_hint",
    "access_token_hint",
    "error_reason",
)
_LINK_FIELDS = ("connect_link", "connect_link_name", "connect_link_error")
_MAX_WAIT = 60.0


def printable(text: str) -> str:
    """Control characters (but tab) as \\xNN, so that the server's text cannot drive
    the terminal."""
    return "".join(
        f"\\x{ord(c):02x}" if (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F else c
        for c in text
    )


def row_from_credentials(c) -> Dict[str, str]:
    """Hints only: a FULL view's secret values are never read."""
    row = dict.fromkeys(_FIELDS + _LINK_FIELDS, "")
    row.update(
        leaf_user_id=c.leaf_user_id,
        status=_STATUS.get(c.status, "UNKNOWN"),
        leaf_status=c.leaf_status,
        refresh_token_hint=c.refresh_token_hint,
        private_key_hint=c.private_key_hint,
        access_token_hint=c.access_token_hint,
    )
    if c.HasField("create_time"):
        row["create_time"] = c.create_time.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
    return row


def row_from_error(leaf_user_id: str, details) -> Dict[str, str]:
    row = dict.fromkeys(_FIELDS + _LINK_FIELDS, "")
    row["leaf_user_id"] = leaf_user_id
    reason = details.reason or f"CODE_{details.code.value[0]}"
    if reason == "CREDENTIALS_NOT_FOUND":
        row["status"] = "NO_CREDENTIALS"
    else:
        row.update(status="ERROR", error_reason=reason)
    return row


def _csv_field(raw: str) -> str:
    """As the C++ client: escaped like the table, a formula-looking cell quoted (CSV
    injection), quotes doubled."""
    s = printable(raw)
    if raw and raw[0] in "=+-@\t\r":
        s = "'" + s
    if any(c in s for c in ',"\r\n'):
        s = '"' + s.replace('"', '""') + '"'
    return s


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def header(fmt: str, links: bool) -> str:
    if fmt == "table":
        cols = ["LEAF USER ID", "STATUS", "CREATED", "REFRESH", "PRIVATE", "ACCESS", "ERROR"]
        if links:
            return "%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %-24s  %s\n" % tuple(
                cols + ["CONNECT LINK"]
            )
        return "%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %s\n" % tuple(cols)
    if fmt == "csv":
        return ",".join(_FIELDS + (_LINK_FIELDS if links else ())) + "\n"
    return ""


def format_row(row: Dict[str, str], fmt: str, links: bool) -> str:
    fields = _FIELDS + (_LINK_FIELDS if links else ())
    if fmt == "csv":
        return ",".join(_csv_field(row[f]) for f in fields) + "\n"
    if fmt == "json":
        return json.dumps({_camel(f): row[f] for f in fields}, separators=(",", ":")) + "\n"
    status = row["status"]
    if row["leaf_status"] and row["leaf_status"] != status:
        status += f" ({printable(row['leaf_status'])})"
    cells = [
        printable(row["leaf_user_id"]),
        status,
        row["create_time"] or "-",
        printable(row["refresh_token_hint"]) or "-",
        printable(row["private_key_hint"]) or "-",
        printable(row["access_token_hint"]) or "-",
    ]
    if not links:
        return "%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %s\n" % tuple(cells + [row["error_reason"]])
    link = (
        "error: " + printable(row["connect_link_error"])
        if row["connect_link_error"]
        else printable(row["connect_link"]) or "-"
    )
    return "%-36s  %-23s  %-20s  %-8s  %-8s  %-8s  %-24s  %s\n" % tuple(
        cells + [row["error_reason"] or "-", link]
    )


def summary(counts: Dict[str, int]) -> str:
    text = "summary:\n"
    for status in _ORDER:
        if counts.get(status):
            text += "  %-24s %d\n" % (status, counts[status])
    text += "  %-24s %d\n" % ("total", sum(counts.values()))
    text += "  %-24s %d\n" % ("need re-authorization", sum(counts.get(s, 0) for s in REAUTHORIZE))
    return text


class Audit:
    """One run; `write`/`note` take the rows and the summary (stdout, stderr)."""

    def __init__(
        self,
        client: AgLeaderClient,
        fmt: str = "table",
        links: bool = False,
        return_url: str = "",
        ttl: Optional[datetime.timedelta] = None,
        chunk_size: int = 100,
        max_rate_limited_waits: int = 30,
        write: Callable[[str], None] = print,
        note: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client, self.fmt, self.links = client, fmt, links
        self.return_url, self.ttl = return_url, ttl
        self.chunk_size, self.max_waits = chunk_size, max_rate_limited_waits
        self.write, self.note, self.sleep = write, note, sleep
        self.counts: Dict[str, int] = {}
        self.failed = False
        self.links_created = self.links_failed = 0

    def run(self, users: Optional[List[str]]) -> int:
        self.write(header(self.fmt, self.links))
        try:
            if users is None:
                for c in self.client.iter_credentials(page_size=500):
                    self._emit(row_from_credentials(c))
            else:
                self._batch(users)
        except AgLeaderError as e:
            self.failed = True
            self.note(f"error: {e.code.name} ({e.code.value[0]}): {e.message}\n")
        text = summary(self.counts)
        if self.links:
            text += (
                f"  {self.links_created} connect links created, "
                f"{self.links_failed} could not be created\n"
            )
        (self.write if self.fmt == "table" else self.note)(text)
        if self.failed or self.counts.get("ERROR"):
            return 1
        return 3 if any(self.counts.get(s) for s in REAUTHORIZE) else 0

    def _batch(self, users: List[str]) -> None:
        ask, waits = list(users), 0
        while ask:
            deferred, wait = [], 0.0
            for start in range(0, len(ask), self.chunk_size):
                chunk = ask[start : start + self.chunk_size]
                for result in self.client.batch_get_credentials(chunk):
                    if result.HasField("credentials"):
                        self._emit(row_from_credentials(result.credentials))
                        continue
                    details = decode_result_error(result.error)
                    if details.reason == "LEAF_RATE_LIMITED" and waits < self.max_waits:
                        deferred.append((result.leaf_user_id, details))
                        wait = max(wait, min(details.retry_delay or 2.0, _MAX_WAIT))
                        continue
                    self._emit(row_from_error(result.leaf_user_id, details))
            if deferred:
                waits += 1
                self.sleep(max(wait, 0.1))
            ask = [user for user, _ in deferred]

    def _emit(self, row: Dict[str, str]) -> None:
        self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
        if self.links and row["status"] in REAUTHORIZE:
            try:
                link = self.client.create_connect_link(
                    row["leaf_user_id"], return_url=self.return_url, ttl=self.ttl
                )
                row.update(connect_link=link.url, connect_link_name=link.name)
                self.links_created += 1
            except AgLeaderError as e:
                row["connect_link_error"] = e.reason or e.code.name
                self.links_failed += 1
        self.write(format_row(row, self.fmt, self.links))


__all__ = ["Audit", "format_row", "header", "printable", "row_from_credentials", "summary"]
