"""Shared code of the AgentFense Python-SDK wire-compatibility scripts.

What this directory is
----------------------
The original AgentFense project (github.com/AjaxZhan/AgentFense) ships a Python SDK
(package ``agentfense``, sources under ``sdk/python/``). Our embedded server must
answer that SDK exactly like the original Go server does. PyPI is not reachable
where these tests run, so instead of importing the SDK, the scripts here use small
classes that send, call for call, the same RPCs with the same field values as the
SDK does. The SDK's code is NOT copied here; each class names the SDK function it
mirrors so that a reviewer can compare them side by side.

Requirements: Python 3.9+, ``grpcio`` (with ``grpc.aio``), ``grpcio-tools`` and
``protobuf``. On Debian/Ubuntu:  ``apt-get install python3-grpcio python3-grpc-tools
python3-protobuf`` and run the scripts with ``/usr/bin/python3`` (a pyenv python does
not see Debian's dist-packages).

The ``*_pb2.py`` / ``*_pb2_grpc.py`` modules are generated from ``proto/*.proto`` at
run time into a temporary directory (never committed); set ``AF_COMPAT_GEN_DIR`` to
reuse one directory across scripts.

Running one script by hand::

    node scripts/build.mjs
    node dist/server.js --listen unix:/tmp/af.sock --data-dir /tmp/af-data &
    /usr/bin/python3 test/compat/sync_flow.py unix:/tmp/af.sock

Every script prints one line per checked behaviour (``ok   <what>`` or
``FAIL <what>: <detail>``), ends with ``compat <script>: N ok, M failed`` and exits
0 only when nothing failed (2 = bad usage, 3 = missing Python dependency).

Mirror map (SDK file in AjaxZhan/AgentFense -> class/function here)
------------------------------------------------------------------
- sdk/python/sandbox_sdk/client.py ``SandboxClient.*``  -> ``SandboxClient``
  (create_codebase, get_codebase, list_codebases, delete_codebase, upload_file,
  download_file, list_files, create_sandbox, get_sandbox, list_sandboxes,
  start_sandbox, stop_sandbox, destroy_sandbox, exec, exec_stream, create_session,
  get_session, list_sessions, destroy_session, session_exec)
- the SDK's async client (``agentfense/_async/client.py``, ``AsyncSandboxClient``;
  the same requests over ``grpc.aio``) -> ``AsyncSandboxClient``
- sdk/python/sandbox_rls/sandbox.py ``Sandbox`` (from_local, from_codebase, connect,
  run, exec, exec_stream, session, read_file, read_file_bytes, write_file,
  list_files, destroy, _to_codebase_path) -> ``Sandbox``
- sdk/python/sandbox_rls/_async/sandbox.py ``AsyncSandbox`` -> ``AsyncSandbox``
- the SDK's ``presets.py`` ``get_preset_dicts`` -> ``PRESETS`` / ``preset_dicts``
- the SDK's ``utils.py`` ``walk_directory``, ``generate_owner_id``,
  ``generate_codebase_name`` -> functions of the same names (ignore list and
  generated names approximated; only their wire effect matters: non-empty strings,
  one UploadFiles call per file).
"""

from __future__ import annotations

import asyncio
import atexit
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PROTO_DIR = ROOT / "proto"

INSTALL_HINT = (
    "install the Python gRPC packages: apt-get install -y python3-grpcio "
    "python3-grpc-tools python3-protobuf, and run this with /usr/bin/python3 "
    f"(this interpreter is {sys.executable})"
)

# ---------------------------------------------------------------------------
# protobuf modules, generated at run time
# ---------------------------------------------------------------------------

try:
    import grpc  # noqa: F401
    import grpc.aio  # noqa: F401
    import grpc_tools  # noqa: F401
    from google.protobuf import duration_pb2  # noqa: F401
except ImportError as _e:  # pragma: no cover - environment check
    print(f"FAIL python dependencies: {_e}; {INSTALL_HINT}", flush=True)
    sys.exit(3)


def _generate_protos() -> str:
    gen = os.environ.get("AF_COMPAT_GEN_DIR")
    if gen:
        os.makedirs(gen, exist_ok=True)
    else:
        gen = tempfile.mkdtemp(prefix="af-compat-pb2-")
        atexit.register(shutil.rmtree, gen, True)
    marker = os.path.join(gen, "sandbox_pb2_grpc.py")
    if not os.path.exists(marker):
        protos = sorted(str(p.name) for p in PROTO_DIR.glob("*.proto"))
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I", str(PROTO_DIR),
               f"--python_out={gen}", f"--grpc_python_out={gen}", *protos]
        res = subprocess.run(cmd, cwd=str(PROTO_DIR), capture_output=True, text=True)
        if res.returncode != 0:
            print(f"FAIL protoc: {' '.join(cmd)}\n{res.stdout}{res.stderr}", flush=True)
            sys.exit(3)
    sys.path.insert(0, gen)
    return gen


GEN_DIR = _generate_protos()
import common_pb2  # noqa: E402
import codebase_pb2  # noqa: E402
import codebase_pb2_grpc  # noqa: E402
import sandbox_pb2  # noqa: E402
import sandbox_pb2_grpc  # noqa: E402
from google.protobuf.duration_pb2 import Duration  # noqa: E402

# ---------------------------------------------------------------------------
# command line and reporting
# ---------------------------------------------------------------------------


def endpoint_from_argv() -> str:
    ep = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("AF_ENDPOINT", "")
    if not ep:
        print(f"usage: {sys.argv[0]} ENDPOINT   (e.g. unix:/tmp/af.sock or localhost:9000)")
        sys.exit(2)
    return ep


def rpc_desc(err: BaseException) -> str:
    if isinstance(err, grpc.RpcError) and hasattr(err, "code"):
        try:
            return f"{err.code().name}: {err.details()}"
        except Exception:  # pragma: no cover
            pass
    return f"{type(err).__name__}: {err}"


class Report:
    """One line per checked behaviour; the exit code says whether all passed."""

    def __init__(self, name: str):
        self.name = name
        self.passed = 0
        self.failed: List[str] = []

    def ok(self, what: str) -> None:
        self.passed += 1
        print(f"ok   {what}", flush=True)

    def fail(self, what: str, detail: str) -> None:
        self.failed.append(what)
        print(f"FAIL {what}: {detail}", flush=True)

    def info(self, what: str) -> None:
        print(f"info {what}", flush=True)

    def check(self, what: str, cond: bool, detail: str = "") -> bool:
        if cond:
            self.ok(what)
        else:
            self.fail(what, detail or "condition false")
        return bool(cond)

    def equal(self, what: str, got, want) -> bool:
        return self.check(what, got == want, f"got {got!r}, want {want!r}")

    def expect_status(self, what: str, fn: Callable[[], object], code: "grpc.StatusCode",
                      contains: Optional[str] = None) -> Optional[grpc.RpcError]:
        try:
            fn()
        except grpc.RpcError as e:
            return self._judge_status(what, e, code, contains)
        self.fail(what, f"want {code.name}, the call succeeded")
        return None

    async def expect_status_async(self, what: str, coro, code: "grpc.StatusCode",
                                  contains: Optional[str] = None):
        try:
            await coro
        except grpc.RpcError as e:
            return self._judge_status(what, e, code, contains)
        self.fail(what, f"want {code.name}, the call succeeded")
        return None

    def _judge_status(self, what: str, e: grpc.RpcError, code: "grpc.StatusCode",
                      contains: Optional[str]) -> grpc.RpcError:
        if e.code() != code:
            self.fail(what, f"want {code.name}, got {rpc_desc(e)}")
        elif contains and contains not in (e.details() or ""):
            self.fail(what, f"want message containing {contains!r}, got {rpc_desc(e)}")
        else:
            self.ok(f"{what} -> {code.name} ({e.details()})")
        return e

    @contextmanager
    def section(self, name: str):
        """Runs one group of checks; an unexpected exception fails the group, not the script."""
        t0 = time.monotonic()
        try:
            yield
        except Exception as e:  # noqa: BLE001
            self.fail(f"[{name}] unexpected error", rpc_desc(e))
            traceback.print_exc(file=sys.stdout)
        finally:
            self.info(f"[{name}] took {time.monotonic() - t0:.2f}s")

    async def asection(self, name: str, coro):
        t0 = time.monotonic()
        try:
            await coro
        except Exception as e:  # noqa: BLE001
            self.fail(f"[{name}] unexpected error", rpc_desc(e))
            traceback.print_exc(file=sys.stdout)
        finally:
            self.info(f"[{name}] took {time.monotonic() - t0:.2f}s")

    def finish(self) -> None:
        print(f"compat {self.name}: {self.passed} ok, {len(self.failed)} failed", flush=True)
        if self.failed:
            print("failed: " + "; ".join(self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


# ---------------------------------------------------------------------------
# SDK helpers: presets, utils
# ---------------------------------------------------------------------------

_SECRETS = [
    {"pattern": "**/.env*", "permission": "none", "priority": 100},
    {"pattern": "**/secrets/**", "permission": "none", "priority": 100},
    {"pattern": "**/*.key", "permission": "none", "priority": 100},
    {"pattern": "**/*.pem", "permission": "none", "priority": 100},
]

# The five presets of the SDK's presets.py (rules as the dicts get_preset_dicts returns:
# no "type" key, so create_sandbox sends PATTERN_TYPE_GLOB for each).
PRESETS: Dict[str, List[dict]] = {
    "agent-safe": [
        {"pattern": "**/*", "permission": "read", "priority": 0},
        {"pattern": "/output/**", "permission": "write", "priority": 10},
        {"pattern": "/tmp/**", "permission": "write", "priority": 10},
        *_SECRETS,
        {"pattern": "**/credentials*", "permission": "none", "priority": 100},
        {"pattern": "**/.git/**", "permission": "none", "priority": 50},
    ],
    "read-only": [{"pattern": "**/*", "permission": "read", "priority": 0}],
    "full-access": [{"pattern": "**/*", "permission": "write", "priority": 0}],
    "development": [{"pattern": "**/*", "permission": "write", "priority": 0}, *_SECRETS],
    "view-only": [{"pattern": "**/*", "permission": "view", "priority": 0}],
}


def preset_dicts(name: str) -> List[dict]:
    """Mirrors presets.get_preset_dicts(name)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}")
    return [dict(r) for r in PRESETS[name]]


# utils.DEFAULT_IGNORE_PATTERNS (the part that matters for test fixtures).
DEFAULT_IGNORE = [
    ".git", "__pycache__", "*.pyc", "*.pyo", ".DS_Store", "Thumbs.db", "node_modules",
    ".venv", "venv", ".env", "*.egg-info", ".tox", ".pytest_cache",
]


def walk_directory(path: str, ignore_patterns: Optional[List[str]] = None) -> Iterator[tuple]:
    """Mirrors utils.walk_directory: yields (relative posix path, bytes) per file."""
    ignore = DEFAULT_IGNORE + list(ignore_patterns or [])
    root = Path(path)

    def ignored(name: str, rel: str) -> bool:
        return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p) for p in ignore)

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        dirnames[:] = sorted(d for d in dirnames
                             if not ignored(d, d if rel_dir == "." else f"{rel_dir}/{d}"))
        for f in sorted(filenames):
            rel = f if rel_dir == "." else f"{rel_dir}/{f}"
            if ignored(f, rel):
                continue
            yield rel, (Path(dirpath) / f).read_bytes()


def generate_owner_id() -> str:
    """Mirrors utils.generate_owner_id (a random owner id)."""
    return f"user_{uuid.uuid4().hex[:12]}"


def generate_codebase_name(path: str) -> str:
    """Mirrors utils.generate_codebase_name (derived from the directory name)."""
    return f"{Path(path).resolve().name}-{uuid.uuid4().hex[:6]}"


def to_codebase_path(path: str) -> str:
    """Mirrors Sandbox._to_codebase_path: '/workspace/x' -> 'x'."""
    if path == "/workspace":
        return ""
    if path.startswith("/workspace/"):
        return path[len("/workspace/"):]
    if path.startswith("/"):
        return path[1:]
    return path


# ---------------------------------------------------------------------------
# request builders shared by the sync and the async client (client.py)
# ---------------------------------------------------------------------------

_PERM = {
    "none": common_pb2.PERMISSION_NONE,
    "view": common_pb2.PERMISSION_VIEW,
    "read": common_pb2.PERMISSION_READ,
    "write": common_pb2.PERMISSION_WRITE,
}
_PTYPE = {
    "glob": common_pb2.PATTERN_TYPE_GLOB,
    "directory": common_pb2.PATTERN_TYPE_DIRECTORY,
    "file": common_pb2.PATTERN_TYPE_FILE,
}
RUNTIMES = {
    "bwrap": sandbox_pb2.RUNTIME_TYPE_BWRAP,
    "docker": sandbox_pb2.RUNTIME_TYPE_DOCKER,
}


def _duration(td: timedelta) -> Duration:
    # client.py: Duration(seconds=int(total_seconds), nanos=int((total_seconds % 1) * 1e9))
    total = td.total_seconds()
    return Duration(seconds=int(total), nanos=int((total % 1) * 1e9))


def build_create_sandbox(codebase_id: str, permissions=None, labels=None, expires_in=None,
                         runtime: str = "bwrap", image: Optional[str] = None,
                         resources: Optional[dict] = None):
    """client.py SandboxClient.create_sandbox: dict rules -> PermissionRule (type glob by default)."""
    rules = []
    for p in permissions or []:
        rules.append(common_pb2.PermissionRule(
            pattern=p["pattern"],
            permission=_PERM[p.get("permission", "read")],
            type=_PTYPE[p.get("type", "glob")],
            priority=int(p.get("priority", 0)),
        ))
    req = sandbox_pb2.CreateSandboxRequest(
        codebase_id=codebase_id,
        permissions=rules,
        labels=labels or {},
        runtime=RUNTIMES[runtime],
        image=image or "",
    )
    if expires_in:
        req.expires_in.CopyFrom(_duration(expires_in))
    if resources:
        req.resources.CopyFrom(sandbox_pb2.ResourceLimits(**resources))
    return req


def build_exec(sandbox_id, command, stdin=None, env=None, workdir=None, timeout=None):
    """client.py SandboxClient.exec / exec_stream request."""
    req = sandbox_pb2.ExecRequest(sandbox_id=sandbox_id, command=command, stdin=stdin or "",
                                  env=env or {}, workdir=workdir or "")
    if timeout:
        req.timeout.CopyFrom(_duration(timeout))
    return req


def build_session_exec(session_id, command, timeout=None):
    """client.py SandboxClient.session_exec request."""
    req = sandbox_pb2.SessionExecRequest(session_id=session_id, command=command)
    if timeout:
        req.timeout.CopyFrom(_duration(timeout))
    return req


def upload_chunks(codebase_id: str, file_path: str, content: bytes, chunk_size: int = 64 * 1024):
    """client.py SandboxClient.upload_file generate_chunks(): metadata first, then 64 KiB data."""
    yield codebase_pb2.UploadChunk(metadata=codebase_pb2.UploadChunk.Metadata(
        codebase_id=codebase_id, file_path=file_path, total_size=len(content)))
    for i in range(0, len(content), chunk_size):
        yield codebase_pb2.UploadChunk(data=content[i:i + chunk_size])


# ---------------------------------------------------------------------------
# sync client: sdk/python/sandbox_sdk/client.py SandboxClient
# ---------------------------------------------------------------------------


class SandboxClient:
    def __init__(self, endpoint: str):
        self._channel = grpc.insecure_channel(endpoint)
        self.sb = sandbox_pb2_grpc.SandboxServiceStub(self._channel)
        self.cb = codebase_pb2_grpc.CodebaseServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # codebases
    def create_codebase(self, name, owner_id):
        return self.cb.CreateCodebase(codebase_pb2.CreateCodebaseRequest(name=name, owner_id=owner_id))

    def get_codebase(self, codebase_id):
        return self.cb.GetCodebase(codebase_pb2.GetCodebaseRequest(codebase_id=codebase_id))

    def list_codebases(self, owner_id=None):
        return list(self.cb.ListCodebases(
            codebase_pb2.ListCodebasesRequest(owner_id=owner_id or "")).codebases)

    def delete_codebase(self, codebase_id):
        self.cb.DeleteCodebase(codebase_pb2.DeleteCodebaseRequest(codebase_id=codebase_id))

    def upload_file(self, codebase_id, file_path, content: bytes, chunk_size=64 * 1024):
        return self.cb.UploadFiles(upload_chunks(codebase_id, file_path, content, chunk_size))

    def download_file(self, codebase_id, file_path) -> bytes:
        req = codebase_pb2.DownloadFileRequest(codebase_id=codebase_id, file_path=file_path)
        return b"".join(c.data for c in self.cb.DownloadFile(req))

    def list_files(self, codebase_id, path="", recursive=False):
        return list(self.cb.ListFiles(codebase_pb2.ListFilesRequest(
            codebase_id=codebase_id, path=path, recursive=recursive)).files)

    # sandboxes
    def create_sandbox(self, codebase_id, permissions=None, labels=None, expires_in=None,
                       runtime="bwrap", image=None, resources=None):
        return self.sb.CreateSandbox(build_create_sandbox(
            codebase_id, permissions, labels, expires_in, runtime, image, resources))

    def get_sandbox(self, sandbox_id):
        return self.sb.GetSandbox(sandbox_pb2.GetSandboxRequest(sandbox_id=sandbox_id))

    def list_sandboxes(self, codebase_id=None):
        return list(self.sb.ListSandboxes(
            sandbox_pb2.ListSandboxesRequest(codebase_id=codebase_id or "")).sandboxes)

    def start_sandbox(self, sandbox_id):
        return self.sb.StartSandbox(sandbox_pb2.StartSandboxRequest(sandbox_id=sandbox_id))

    def stop_sandbox(self, sandbox_id):
        return self.sb.StopSandbox(sandbox_pb2.StopSandboxRequest(sandbox_id=sandbox_id))

    def destroy_sandbox(self, sandbox_id):
        self.sb.DestroySandbox(sandbox_pb2.DestroySandboxRequest(sandbox_id=sandbox_id))

    def exec(self, sandbox_id, command, stdin=None, env=None, workdir=None, timeout=None):
        return self.sb.Exec(build_exec(sandbox_id, command, stdin, env, workdir, timeout))

    def exec_stream(self, sandbox_id, command, stdin=None, env=None, workdir=None, timeout=None):
        """The SDK yields only `.data`; we yield the whole ExecOutput to also check `.type`."""
        yield from self.sb.ExecStream(build_exec(sandbox_id, command, stdin, env, workdir, timeout))

    # sessions
    def create_session(self, sandbox_id, shell="/bin/bash", env=None):
        # sandbox_sdk/client.py create_session: shell default "/bin/bash" (later versions "/bin/sh").
        return self.sb.CreateSession(sandbox_pb2.CreateSessionRequest(
            sandbox_id=sandbox_id, shell=shell, env=env or {}))

    def session(self, sandbox_id, shell="/bin/bash", env=None) -> "SessionWrapper":
        return SessionWrapper(self, self.create_session(sandbox_id, shell, env))

    def get_session(self, session_id):
        return self.sb.GetSession(sandbox_pb2.GetSessionRequest(session_id=session_id))

    def list_sessions(self, sandbox_id):
        return list(self.sb.ListSessions(sandbox_pb2.ListSessionsRequest(sandbox_id=sandbox_id)).sessions)

    def destroy_session(self, session_id):
        self.sb.DestroySession(sandbox_pb2.DestroySessionRequest(session_id=session_id))

    def session_exec(self, session_id, command, timeout=None):
        return self.sb.SessionExec(build_session_exec(session_id, command, timeout))


class SessionWrapper:
    """client.py SessionWrapper: exec -> SessionExec, close -> DestroySession."""

    def __init__(self, client: SandboxClient, session):
        self._client = client
        self.info = session
        self.id = session.id

    def exec(self, command, timeout: Optional[timedelta] = None):
        return self._client.session_exec(self.id, command, timeout)

    def close(self):
        self._client.destroy_session(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# high level: sdk/python/sandbox_rls/sandbox.py Sandbox
# ---------------------------------------------------------------------------


class Sandbox:
    def __init__(self, client, info, codebase, owns_client=False, owns_codebase=False):
        self._client = client
        self.info = info
        self.codebase = codebase
        self._owns_client = owns_client
        self._owns_codebase = owns_codebase
        self._destroyed = False

    @property
    def id(self):
        return self.info.id

    @property
    def codebase_id(self):
        return self.codebase.id

    @classmethod
    def from_local(cls, path, preset="agent-safe", permissions=None, runtime="bwrap", image=None,
                   resources=None, endpoint="localhost:9000", owner_id=None, codebase_name=None,
                   ignore_patterns=None, labels=None, auto_start=True) -> "Sandbox":
        """CreateCodebase -> UploadFiles per file -> CreateSandbox -> StartSandbox.
        On failure: DeleteCodebase (the sync from_local does not destroy the sandbox)."""
        dir_path = Path(path).resolve()
        if not dir_path.is_dir():
            raise ValueError(f"Path is not a directory: {path}")
        client = SandboxClient(endpoint)
        codebase = None
        try:
            owner_id = owner_id or generate_owner_id()
            codebase_name = codebase_name or generate_codebase_name(path)
            codebase = client.create_codebase(name=codebase_name, owner_id=owner_id)
            for rel, content in walk_directory(str(dir_path), ignore_patterns):
                client.upload_file(codebase.id, rel, content)
            rules = preset_dicts(preset) + list(permissions or [])
            info = client.create_sandbox(codebase_id=codebase.id, permissions=rules, runtime=runtime,
                                         image=image, resources=resources, labels=labels)
            if auto_start:
                info = client.start_sandbox(info.id)
            return cls(client, info, codebase, owns_client=True, owns_codebase=True)
        except Exception:
            if codebase is not None:
                try:
                    client.delete_codebase(codebase.id)
                except Exception:
                    pass
            client.close()
            raise

    @classmethod
    def from_codebase(cls, codebase_id, preset="agent-safe", permissions=None, runtime="bwrap",
                      image=None, resources=None, endpoint="localhost:9000", labels=None,
                      auto_start=True) -> "Sandbox":
        client = SandboxClient(endpoint)
        try:
            codebase = client.get_codebase(codebase_id)
            rules = preset_dicts(preset) + list(permissions or [])
            info = client.create_sandbox(codebase_id=codebase_id, permissions=rules, runtime=runtime,
                                         image=image, resources=resources, labels=labels)
            if auto_start:
                info = client.start_sandbox(info.id)
            return cls(client, info, codebase, owns_client=True, owns_codebase=False)
        except Exception:
            client.close()
            raise

    @classmethod
    def connect(cls, sandbox_id, endpoint="localhost:9000") -> "Sandbox":
        client = SandboxClient(endpoint)
        try:
            info = client.get_sandbox(sandbox_id)
            codebase = client.get_codebase(info.codebase_id)
            return cls(client, info, codebase, owns_client=True, owns_codebase=False)
        except Exception:
            client.close()
            raise

    def start(self):
        if self.info.status != common_pb2.SANDBOX_STATUS_RUNNING:
            self.info = self._client.start_sandbox(self.id)
        return self

    def stop(self):
        if self.info.status == common_pb2.SANDBOX_STATUS_RUNNING:
            self.info = self._client.stop_sandbox(self.id)
        return self

    def refresh(self):
        self.info = self._client.get_sandbox(self.id)
        return self

    def destroy(self, delete_codebase: Optional[bool] = None):
        """DestroySandbox, then DeleteCodebase if asked (default: if from_local created it)."""
        if self._destroyed:
            return
        try:
            self._client.destroy_sandbox(self.id)
            should = delete_codebase if delete_codebase is not None else self._owns_codebase
            if should:
                self._client.delete_codebase(self.codebase_id)
        finally:
            if self._owns_client:
                self._client.close()
            self._destroyed = True

    def run(self, command, timeout=60, env=None, workdir=None):
        """Sandbox.run: Exec with timeout=timedelta(seconds=timeout)."""
        return self._client.exec(self.id, command, env=env, workdir=workdir,
                                 timeout=timedelta(seconds=timeout))

    def exec(self, command, stdin=None, env=None, workdir=None, timeout=None):
        return self._client.exec(self.id, command, stdin, env, workdir, timeout)

    def exec_stream(self, command, stdin=None, env=None, workdir=None, timeout=None):
        return self._client.exec_stream(self.id, command, stdin, env, workdir, timeout)

    def session(self, shell="/bin/sh", env=None) -> SessionWrapper:
        """Sandbox.session: note the high-level default shell is /bin/sh."""
        return self._client.session(self.id, shell=shell, env=env)

    def read_file(self, path) -> str:
        return self._client.download_file(self.codebase_id, to_codebase_path(path)).decode("utf-8")

    def read_file_bytes(self, path) -> bytes:
        return self._client.download_file(self.codebase_id, to_codebase_path(path))

    def write_file(self, path, content):
        if isinstance(content, str):
            content = content.encode("utf-8")
        self._client.upload_file(self.codebase_id, to_codebase_path(path), content)

    def list_files(self, path="", recursive=False) -> List[str]:
        return [f.path for f in self._client.list_files(self.codebase_id, to_codebase_path(path), recursive)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.destroy()


# ---------------------------------------------------------------------------
# async client (AsyncSandboxClient) and AsyncSandbox (sandbox_rls/_async/sandbox.py)
# ---------------------------------------------------------------------------


class AsyncSandboxClient:
    def __init__(self, endpoint: str = "localhost:9000"):
        self._channel = grpc.aio.insecure_channel(endpoint)
        self.sb = sandbox_pb2_grpc.SandboxServiceStub(self._channel)
        self.cb = codebase_pb2_grpc.CodebaseServiceStub(self._channel)

    async def close(self):
        await self._channel.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    async def create_codebase(self, name, owner_id):
        return await self.cb.CreateCodebase(codebase_pb2.CreateCodebaseRequest(name=name, owner_id=owner_id))

    async def get_codebase(self, codebase_id):
        return await self.cb.GetCodebase(codebase_pb2.GetCodebaseRequest(codebase_id=codebase_id))

    async def list_codebases(self, owner_id=None):
        r = await self.cb.ListCodebases(codebase_pb2.ListCodebasesRequest(owner_id=owner_id or ""))
        return list(r.codebases)

    async def delete_codebase(self, codebase_id):
        await self.cb.DeleteCodebase(codebase_pb2.DeleteCodebaseRequest(codebase_id=codebase_id))

    async def upload_file(self, codebase_id, file_path, content: bytes, chunk_size=64 * 1024):
        return await self.cb.UploadFiles(upload_chunks(codebase_id, file_path, content, chunk_size))

    async def download_file(self, codebase_id, file_path) -> bytes:
        req = codebase_pb2.DownloadFileRequest(codebase_id=codebase_id, file_path=file_path)
        chunks = []
        async for c in self.cb.DownloadFile(req):
            chunks.append(c.data)
        return b"".join(chunks)

    async def list_files(self, codebase_id, path="", recursive=False):
        r = await self.cb.ListFiles(codebase_pb2.ListFilesRequest(
            codebase_id=codebase_id, path=path, recursive=recursive))
        return list(r.files)

    async def create_sandbox(self, codebase_id, permissions=None, labels=None, expires_in=None,
                             runtime="bwrap", image=None, resources=None):
        return await self.sb.CreateSandbox(build_create_sandbox(
            codebase_id, permissions, labels, expires_in, runtime, image, resources))

    async def get_sandbox(self, sandbox_id):
        return await self.sb.GetSandbox(sandbox_pb2.GetSandboxRequest(sandbox_id=sandbox_id))

    async def list_sandboxes(self, codebase_id=None):
        r = await self.sb.ListSandboxes(sandbox_pb2.ListSandboxesRequest(codebase_id=codebase_id or ""))
        return list(r.sandboxes)

    async def start_sandbox(self, sandbox_id):
        return await self.sb.StartSandbox(sandbox_pb2.StartSandboxRequest(sandbox_id=sandbox_id))

    async def stop_sandbox(self, sandbox_id):
        return await self.sb.StopSandbox(sandbox_pb2.StopSandboxRequest(sandbox_id=sandbox_id))

    async def destroy_sandbox(self, sandbox_id):
        await self.sb.DestroySandbox(sandbox_pb2.DestroySandboxRequest(sandbox_id=sandbox_id))

    async def exec(self, sandbox_id, command, stdin=None, env=None, workdir=None, timeout=None):
        return await self.sb.Exec(build_exec(sandbox_id, command, stdin, env, workdir, timeout))

    async def exec_stream(self, sandbox_id, command, stdin=None, env=None, workdir=None, timeout=None):
        async for out in self.sb.ExecStream(build_exec(sandbox_id, command, stdin, env, workdir, timeout)):
            yield out

    async def create_session(self, sandbox_id, shell="/bin/bash", env=None) -> "AsyncSessionWrapper":
        s = await self.sb.CreateSession(sandbox_pb2.CreateSessionRequest(
            sandbox_id=sandbox_id, shell=shell, env=env or {}))
        return AsyncSessionWrapper(self, s)

    async def get_session(self, session_id):
        return await self.sb.GetSession(sandbox_pb2.GetSessionRequest(session_id=session_id))

    async def list_sessions(self, sandbox_id):
        r = await self.sb.ListSessions(sandbox_pb2.ListSessionsRequest(sandbox_id=sandbox_id))
        return list(r.sessions)

    async def destroy_session(self, session_id):
        await self.sb.DestroySession(sandbox_pb2.DestroySessionRequest(session_id=session_id))

    async def session_exec(self, session_id, command, timeout=None):
        return await self.sb.SessionExec(build_session_exec(session_id, command, timeout))


class AsyncSessionWrapper:
    def __init__(self, client: AsyncSandboxClient, session):
        self._client = client
        self.info = session
        self.id = session.id

    async def exec(self, command, timeout: Optional[timedelta] = None):
        return await self._client.session_exec(self.id, command, timeout)

    async def close(self):
        await self._client.destroy_session(self.id)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()


# Every AsyncSandbox the scripts create, so that a test can check what was cleaned up.
CREATED_ASYNC: List["AsyncSandbox"] = []


class AsyncSandbox:
    def __init__(self, client, info, codebase, owns_client=False, owns_codebase=False):
        self._client = client
        self.info = info
        self.codebase = codebase
        self._owns_client = owns_client
        self._owns_codebase = owns_codebase
        self._destroyed = False
        CREATED_ASYNC.append(self)

    @property
    def id(self):
        return self.info.id

    @property
    def codebase_id(self):
        return self.codebase.id

    @property
    def destroyed(self):
        return self._destroyed

    @classmethod
    async def from_local(cls, path, preset="agent-safe", permissions=None, runtime="bwrap", image=None,
                         resources=None, endpoint="localhost:9000", owner_id=None, codebase_name=None,
                         ignore_patterns=None, labels=None, auto_start=True) -> "AsyncSandbox":
        """CreateCodebase -> UploadFiles per file -> CreateSandbox -> StartSandbox.
        On failure: DestroySandbox (if created), DeleteCodebase, close."""
        dir_path = Path(path).resolve()
        if not dir_path.is_dir():
            raise ValueError(f"Path is not a directory: {path}")
        client = AsyncSandboxClient(endpoint)
        codebase = None
        info = None
        try:
            owner_id = owner_id or generate_owner_id()
            codebase_name = codebase_name or generate_codebase_name(path)
            codebase = await client.create_codebase(name=codebase_name, owner_id=owner_id)
            for rel, content in walk_directory(str(dir_path), ignore_patterns):
                await client.upload_file(codebase.id, rel, content)
            rules = preset_dicts(preset) + list(permissions or [])
            info = await client.create_sandbox(codebase_id=codebase.id, permissions=rules, runtime=runtime,
                                               image=image, resources=resources, labels=labels)
            if auto_start:
                info = await client.start_sandbox(info.id)
            return cls(client, info, codebase, owns_client=True, owns_codebase=True)
        except Exception:
            if info is not None:
                try:
                    await client.destroy_sandbox(info.id)
                except Exception:
                    pass
            if codebase is not None:
                try:
                    await client.delete_codebase(codebase.id)
                except Exception:
                    pass
            await client.close()
            raise

    async def destroy(self, delete_codebase: Optional[bool] = None):
        if self._destroyed:
            return
        try:
            await self._client.destroy_sandbox(self.id)
            should = delete_codebase if delete_codebase is not None else self._owns_codebase
            if should:
                await self._client.delete_codebase(self.codebase_id)
        finally:
            if self._owns_client:
                await self._client.close()
            self._destroyed = True

    async def run(self, command, timeout=60, env=None, workdir=None):
        return await self._client.exec(self.id, command, env=env, workdir=workdir,
                                       timeout=timedelta(seconds=timeout))

    async def exec(self, command, stdin=None, env=None, workdir=None, timeout=None):
        return await self._client.exec(self.id, command, stdin, env, workdir, timeout)

    async def exec_stream(self, command, stdin=None, env=None, workdir=None, timeout=None):
        async for out in self._client.exec_stream(self.id, command, stdin, env, workdir, timeout):
            yield out.data

    async def session(self, shell="/bin/sh", env=None) -> AsyncSessionWrapper:
        return await self._client.create_session(sandbox_id=self.id, shell=shell, env=env)

    async def read_file(self, path) -> str:
        return (await self._client.download_file(self.codebase_id, to_codebase_path(path))).decode("utf-8")

    async def read_file_bytes(self, path) -> bytes:
        return await self._client.download_file(self.codebase_id, to_codebase_path(path))

    async def list_files(self, path="", recursive=False) -> List[str]:
        return [f.path for f in await self._client.list_files(self.codebase_id, to_codebase_path(path), recursive)]

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.destroy()


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


def make_project(base: str, name: str, files: Dict[str, object]) -> str:
    """Writes a small project directory; values are str or bytes."""
    root = Path(base) / name
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode("utf-8")
        p.write_bytes(content)
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def temp_base() -> str:
    d = tempfile.mkdtemp(prefix="af-compat-proj-")
    atexit.register(shutil.rmtree, d, True)
    return d


def status_name(v: int) -> str:
    return common_pb2.SandboxStatus.Name(v)


def session_status_name(v: int) -> str:
    return common_pb2.SessionStatus.Name(v)
