"""A small local stand-in for the Hugging Face Hub HTTP API, for tests that run the real `huggingface_hub` client.

No maintained package provides such a server, so this one speaks exactly the parts of the API that
`huggingface_hub` 2.4 calls for publishing a model or a Space and for downloading files back
(endpoints and payloads read from its sources: `hf_api.py`, `_commit_api.py`, `lfs.py`,
`file_download.py`, `_snapshot_download.py`):

    GET  /api/whoami-v2                                      token check
    POST /api/repos/create                                   model / dataset / space, visibility, sdk
    POST /api/validate-yaml                                  README front matter must parse as YAML
    GET  /api/{type}s/{ns}/{name}[/revision/{rev}]           repo info (sha, private, siblings)
    POST /api/{type}s/{ns}/{name}/preupload/{rev}            upload mode per file ("regular" or "lfs")
    POST /api/{type}s/{ns}/{name}/commit/{rev}               NDJSON commit: header, file (base64), lfsFile, deletions
    GET  /api/{type}s/{ns}/{name}/tree/{rev}[/{path}]        tree listing (recursive or not)
    POST /api/{type}s/{ns}/{name}/paths-info/{rev}           info on given paths
    GET/POST /api/spaces/{ns}/{name}/variables               Space variables
    POST /{prefix}{ns}/{name}.git/info/lfs/objects/batch     LFS "basic" transfer (PUT to /_lfs/{oid})
    HEAD/GET /{prefix}{ns}/{name}/resolve/{rev}/{path}       file download (hf_hub_download, snapshot_download)

It keeps every repository in memory (files per commit, so a test can assert what ONE commit
contained) and records every request with its ``Authorization`` header. Tokens: requests carrying a
token that is not in ``tokens`` get the Hub's 401 "Invalid credentials"; writes need a valid token;
reads of private repos need one too.

Use the ``hub_server`` fixture (see :func:`hub_server`): it starts a server on 127.0.0.1 with a free
port, points ``HF_ENDPOINT`` (and ``huggingface_hub.constants.ENDPOINT``) at it, turns the test
suite's offline mode off for the Hub client, and gives the :class:`HubServer` to the test. Expose it
in every test folder through ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

TEST_TOKEN = "hf_testtoken_0123456789abcdefABCDEF"  # the one valid token of the fixture
TEST_USER = "tester"
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def git_blob_oid(content: bytes) -> str:
    """The git blob sha1 the Hub reports as a regular file's ``oid`` (and that the client compares)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    """One commit as received: its message and the files it added (path -> bytes) or deleted."""

    oid: str
    message: str
    added: dict[str, bytes]
    deleted: list[str]
    upload_modes: dict[str, str]  # path -> "regular" or "lfs", how each added file travelled


@dataclass
class Repo:
    """A repository's state: visibility, Space SDK and variables, and its commits in order."""

    repo_type: str
    repo_id: str
    private: bool
    sdk: str | None = None
    variables: dict[str, dict] = field(default_factory=dict)
    commits: list[Commit] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # the current tree of the main branch

    @property
    def sha(self) -> str:
        return self.commits[-1].oid if self.commits else "0" * 40


@dataclass
class Request:
    """One HTTP request as the server saw it."""

    method: str
    path: str
    authorization: str | None
    body: bytes


class HubServer:
    """The in-memory Hub behind the HTTP handler; tests read ``repos`` and ``requests`` directly.

    Args:
        tokens: the tokens the server accepts (as ``Authorization: Bearer <token>``).
        lfs_threshold: files of at least this many bytes are asked to travel through LFS ("basic"
            transfer) like the Hub's large files; ``None`` keeps every file "regular" (inline base64).
    """

    def __init__(self, tokens: tuple[str, ...] = (TEST_TOKEN,), lfs_threshold: int | None = None):
        self.tokens = set(tokens)
        self.lfs_threshold = lfs_threshold
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}  # sha256 -> bytes
        self.lfs_issued: set[str] = set()  # oids a batch call gave an upload URL for
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> HubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- helpers for tests ------------------------------------------------------------------------
    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def create_repo(
        self, repo_id: str, repo_type: str = "model", private: bool = False, files: dict[str, bytes] | None = None
    ) -> Repo:
        """Create a repository directly (e.g. a dataset of flags for a ``pull`` test), optionally with one commit."""
        repo = Repo(repo_type, repo_id, private, sdk="gradio" if repo_type == "space" else None)
        self.repos[(repo_type, repo_id)] = repo
        if files:
            self._apply_commit(repo, "Initial commit", dict(files), [], {p: "regular" for p in files})
        return repo

    def tokens_seen(self) -> set[str | None]:
        return {r.authorization for r in self.requests}

    # -- state changes (called under the lock) ----------------------------------------------------
    def _apply_commit(
        self, repo: Repo, message: str, added: dict[str, bytes], deleted: list[str], modes: dict[str, str]
    ) -> Commit:
        for path in deleted:
            if path.endswith("/"):
                for name in [p for p in repo.files if p.startswith(path)]:
                    del repo.files[name]
            else:
                repo.files.pop(path, None)
        repo.files.update(added)
        seed = f"{repo.repo_id}:{len(repo.commits)}:{message}".encode()
        commit = Commit(hashlib.sha1(seed).hexdigest(), message, added, deleted, modes)
        repo.commits.append(commit)
        return commit


def _make_handler(hub: HubServer):
    api_repo = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+?)(/.*)?$")
    resolve = re.compile(r"^/(datasets/|spaces/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
    lfs_batch = re.compile(r"^/(datasets/|spaces/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch$")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        # -- plumbing -------------------------------------------------------------------------------
        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()  # the CRLF after each chunk
                self.rfile.readline()  # the CRLF after the last (empty) chunk
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(
            self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None, head: bool = False
        ):
            body = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, status: int, message: str, code: str | None = None):
            headers = {"X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            self._send(status, {"error": message}, headers, head=self.command == "HEAD")  # HEAD: never a body

        def _token(self) -> tuple[bool, bool]:
            """(token present, token valid)."""
            auth = self.headers.get("Authorization")
            if not auth:
                return False, False
            return True, auth.removeprefix("Bearer ").strip() in hub.tokens

        def _handle(self, method: str):
            url = urlsplit(self.path)
            body = self._body() if method in ("POST", "PUT") else b""
            with hub.lock:
                hub.requests.append(Request(method, url.path, self.headers.get("Authorization"), body))
            present, valid = self._token()
            if present and not valid:
                return self._error(401, "Invalid credentials in Authorization header")
            with hub.lock:
                return self._route(method, unquote(url.path), parse_qs(url.query), body, valid)

        def do_GET(self):
            self._handle("GET")

        def do_HEAD(self):
            self._handle("HEAD")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        # -- routes ---------------------------------------------------------------------------------
        def _route(self, method, path, query, body, authed):
            if path == "/api/whoami-v2" and method == "GET":
                if not authed:
                    return self._error(401, "Unauthorized")
                return self._send(
                    200,
                    {
                        "type": "user",
                        "name": TEST_USER,
                        "fullname": "Test User",
                        "avatarUrl": "/avatars/tester.svg",  # gradio's mocked sign-in reads it
                        "orgs": [],
                        "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": "write"}},
                    },
                )
            if path == "/api/validate-yaml" and method == "POST":
                return self._validate_yaml(json.loads(body))
            if path == "/api/repos/create" and method == "POST":
                return self._create_repo(json.loads(body), authed)
            if path.startswith("/_lfs/") and method == "PUT":
                # Like a pre-signed storage URL: no Authorization header, only an oid the batch call issued.
                oid = path.removeprefix("/_lfs/")
                if oid not in hub.lfs_issued or hashlib.sha256(body).hexdigest() != oid:
                    return self._error(403, "LFS upload refused (oid not issued, or content does not match it)")
                hub.lfs_objects[oid] = body
                return self._send(200, {})
            if m := lfs_batch.match(path):
                return self._lfs_batch(self._lookup(m.group(1), m.group(2)), json.loads(body), authed)
            if m := resolve.match(path):
                return self._resolve(self._lookup(m.group(1), m.group(2)), m.group(3), m.group(4), method, authed)
            if m := api_repo.match(path):
                repo_type = m.group(1)[:-1]
                repo = hub.repos.get((repo_type, m.group(2)))
                rest = m.group(3) or ""
                if repo is None or (repo.private and not authed):
                    return self._error(404, "Repository not found", "RepoNotFound")
                return self._repo_api(repo, method, rest, query, body, authed)
            return self._error(404, f"no route for {method} {path}")

        def _lookup(self, prefix: str | None, repo_id: str) -> Repo | None:
            repo_type = {"datasets/": "dataset", "spaces/": "space"}.get(prefix or "", "model")
            return hub.repos.get((repo_type, repo_id))

        def _validate_yaml(self, payload):
            content = payload.get("content", "")
            if content.startswith("---"):
                try:
                    yaml.safe_load(content.split("---")[1])
                except yaml.YAMLError as err:
                    return self._send(400, {"errors": [{"message": f"invalid YAML: {err}"}]})
            return self._send(200, {"errors": [], "warnings": []})

        def _create_repo(self, payload, authed):
            if not authed:
                return self._error(401, "You must be authenticated to create a repo")
            repo_type = payload.get("type") or "model"
            repo_id = f"{payload.get('organization') or TEST_USER}/{payload['name']}"
            url = f"{hub.endpoint}/{URL_PREFIX[repo_type]}{repo_id}"
            if (repo_type, repo_id) in hub.repos:
                return self._send(409, {"error": "You already created this repo", "url": url})
            if repo_type == "space" and not payload.get("sdk"):
                return self._error(400, "sdk is required for a Space")
            repo = hub.create_repo(repo_id, repo_type, private=payload.get("visibility") == "private")
            repo.sdk = payload.get("sdk")
            for variable in payload.get("variables") or []:
                repo.variables[variable["key"]] = {
                    "value": variable["value"],
                    "description": variable.get("description"),
                }
            return self._send(200, {"url": url, "name": repo_id, "id": repo_id})

        def _repo_api(self, repo: Repo, method, rest, query, body, authed):
            if method in ("GET", "HEAD") and (rest == "" or rest.startswith("/revision/")):
                return self._send(200, self._info(repo), head=method == "HEAD")
            if m := re.match(r"^/tree/([^/]+)(/.*)?$", rest):
                return self._tree(repo, (m.group(2) or "").strip("/"), query.get("recursive", ["false"])[0])
            if re.match(r"^/paths-info/[^/]+$", rest) and method == "POST":
                form = parse_qs(body.decode())
                return self._send(200, [entry for p in form.get("paths", []) if (entry := self._entry(repo, p))])
            if rest == "/variables" and repo.repo_type == "space":
                if method == "POST":
                    if not authed:
                        return self._error(401, "You must be authenticated to set Space variables")
                    payload = json.loads(body)
                    repo.variables[payload["key"]] = {
                        "value": payload["value"],
                        "description": payload.get("description"),
                        "updatedAt": _now(),
                    }
                return self._send(200, repo.variables)
            if not authed:
                return self._error(401, "You must be authenticated to write to a repo")
            if re.match(r"^/preupload/[^/]+$", rest) and method == "POST":
                return self._preupload(repo, json.loads(body))
            if re.match(r"^/commit/[^/]+$", rest) and method == "POST":
                return self._commit(repo, body)
            return self._error(404, f"no route for {method} {rest}")

        def _info(self, repo: Repo) -> dict:
            info = {
                "id": repo.repo_id,
                "sha": repo.sha,
                "private": repo.private,
                "lastModified": _now(),
                "siblings": [{"rfilename": p} for p in sorted(repo.files)],
            }
            if repo.repo_type == "space":
                info["sdk"] = repo.sdk
            return info

        def _entry(self, repo: Repo, path: str) -> dict | None:
            if path in repo.files:
                content = repo.files[path]
                return {"type": "file", "path": path, "size": len(content), "oid": git_blob_oid(content)}
            if any(p.startswith(path + "/") for p in repo.files):
                return {"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()}
            return None

        def _tree(self, repo: Repo, base: str, recursive: str):
            prefix = base + "/" if base else ""
            names = set()
            for path in repo.files:
                if not path.startswith(prefix):
                    continue
                parts = path[len(prefix) :].split("/")
                if recursive.lower() == "true":
                    names.update(prefix + "/".join(parts[:i]) for i in range(1, len(parts) + 1))
                else:
                    names.add(prefix + parts[0])
            if base and not names:
                return self._error(404, f"{base} does not exist", "EntryNotFound")
            return self._send(200, [self._entry(repo, name) for name in sorted(names)])

        def _preupload(self, repo: Repo, payload):
            files = []
            for item in payload["files"]:
                lfs = hub.lfs_threshold is not None and item["size"] >= hub.lfs_threshold
                existing = repo.files.get(item["path"])
                files.append(
                    {
                        "path": item["path"],
                        "uploadMode": "lfs" if lfs else "regular",
                        "shouldIgnore": False,
                        "oid": git_blob_oid(existing) if existing is not None and not lfs else None,
                    }
                )
            return self._send(200, {"files": files, "commitOid": repo.sha})

        def _lfs_batch(self, repo: Repo | None, payload, authed):
            if repo is None or not authed:
                return self._error(401 if not authed else 404, "LFS batch refused")
            hub.lfs_issued.update(o["oid"] for o in payload["objects"])
            objects = [
                {
                    "oid": o["oid"],
                    "size": o["size"],
                    "authenticated": True,
                    "actions": {"upload": {"href": f"{hub.endpoint}/_lfs/{o['oid']}"}},
                }
                for o in payload["objects"]
            ]
            return self._send(200, {"transfer": "basic", "objects": objects})

        def _commit(self, repo: Repo, body: bytes):
            lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
            header = next(line["value"] for line in lines if line["key"] == "header")
            added, deleted, modes = {}, [], {}
            for line in lines:
                value = line["value"]
                if line["key"] == "file":
                    added[value["path"]] = base64.b64decode(value["content"])
                    modes[value["path"]] = "regular"
                elif line["key"] == "lfsFile":
                    if value["oid"] not in hub.lfs_objects:
                        return self._error(422, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                    added[value["path"]] = hub.lfs_objects[value["oid"]]
                    modes[value["path"]] = "lfs"
                elif line["key"] == "deletedFile":
                    deleted.append(value["path"])
                elif line["key"] == "deletedFolder":
                    deleted.append(value["path"].rstrip("/") + "/")
            commit = hub._apply_commit(repo, header["summary"], added, deleted, modes)
            url = f"{hub.endpoint}/{URL_PREFIX[repo.repo_type]}{repo.repo_id}/commit/{commit.oid}"
            return self._send(200, {"commitUrl": url, "commitOid": commit.oid, "pullRequestUrl": None, "success": True})

        def _resolve(self, repo: Repo | None, revision: str, path: str, method: str, authed: bool):
            if repo is None or (repo.private and not authed):
                return self._error(404, "Repository not found", "RepoNotFound")
            if revision not in ("main", repo.sha):
                return self._error(404, f"revision {revision} not found", "RevisionNotFound")
            if path not in repo.files:
                return self._error(404, f"{path} not found", "EntryNotFound")
            content = repo.files[path]
            headers = {"X-Repo-Commit": repo.sha, "ETag": f'"{git_blob_oid(content)}"'}
            return self._send(200, raw=content, headers=headers, head=method == "HEAD")

    return Handler


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def hub_server(monkeypatch, tmp_path):
    """A running :class:`HubServer` on loopback, with the Hub client in this process pointed at it.

    Sets ``HF_ENDPOINT`` (for subprocesses: CLI tests) and patches ``huggingface_hub.constants``
    (read at import time) so in-process calls go there too; turns off the suite's offline mode for
    the Hub client only; uses a fresh HF_HOME so no real login or cache is read. ``HF_TOKEN`` is left
    unset: a test sets ``monkeypatch.setenv("HF_TOKEN", TEST_TOKEN)`` when it wants to be logged in.
    """
    from huggingface_hub import constants

    server = HubServer().start()
    for name, value in {
        "HF_ENDPOINT": server.endpoint,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf_home"),
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", server.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_home" / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf_home" / "stored_tokens"))
    yield server
    server.stop()
