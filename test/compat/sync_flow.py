"""The SDK's synchronous one-liner flow, call for call, against an AgentFense server.

Usage: /usr/bin/python3 test/compat/sync_flow.py unix:/path/to/socket   (see compat_lib.py)

Blocks and the SDK code they mirror (AjaxZhan/AgentFense):
- [from_local]   sdk/python/sandbox_rls/sandbox.py Sandbox.from_local(path, preset="agent-safe",
                 labels=...): CreateCodebase(name, owner_id) -> UploadFiles once per file
                 (sandbox_sdk/client.py SandboxClient.upload_file: metadata chunk with total_size,
                 then 64 KiB data chunks; one file here is 200 KiB so it takes 4 data chunks)
                 -> CreateSandbox(codebase_id, the preset's 9 rules as PATTERN_TYPE_GLOB,
                 labels, runtime BWRAP, image "") -> StartSandbox.
- [run]          Sandbox.run(command, timeout=60) -> Exec(sandbox_id, command, stdin "",
                 env {}, workdir "", timeout Duration(60s)); also env/workdir/stdin via
                 Sandbox.exec (client.py SandboxClient.exec).
- [read_file]    Sandbox.read_file("/workspace/output/result.txt") -> DownloadFile(codebase_id,
                 "output/result.txt") (client.py download_file; _to_codebase_path strips the
                 /workspace/ prefix); read_file_bytes of the 200 KiB file; list_files -> ListFiles.
- [write_file]   Sandbox.write_file -> UploadFiles, visible to the next command.
- [low-level]    client.py create_sandbox(expires_in=timedelta) -> CreateSandbox.expires_in;
                 get_sandbox, list_sandboxes(codebase_id), Sandbox.from_codebase (does not own
                 the codebase), Sandbox.connect (GetSandbox + GetCodebase), stop -> StopSandbox.
- [destroy]      Sandbox.destroy(delete_codebase=True) -> DestroySandbox then DeleteCodebase;
                 afterwards GetSandbox / GetCodebase answer NOT_FOUND.
"""

import hashlib
import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, common_pb2, sandbox_pb2  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("sync_flow")
base = af.temp_base()

BIG = os.urandom(200 * 1024)
project = af.make_project(base, "one-liner", {
    "README.md": "# demo project\n",
    "src/app.py": "print('hello from app')\n",
    "build.sh": "#!/bin/sh\nmkdir -p output\necho \"built $(cat README.md | head -n1)\" > output/result.txt\necho build-done\n",
    "data/big.bin": BIG,
    "__pycache__/junk.pyc": b"\0\0",  # walk_directory ignores it: never uploaded
})
EXPECTED_FILES = {"README.md", "src/app.py", "build.sh", "data/big.bin"}

sandbox = None
with R.section("from_local"):
    t0 = time.monotonic()
    sandbox = af.Sandbox.from_local(project, preset="agent-safe", endpoint=EP,
                                    labels={"suite": "compat", "flow": "sync"})
    R.info(f"from_local took {time.monotonic() - t0:.2f}s")
    info = sandbox.info
    R.check("from_local: StartSandbox returns status RUNNING", info.status == common_pb2.SANDBOX_STATUS_RUNNING,
            f"status {af.status_name(info.status)}")
    R.check("from_local: sandbox id and codebase id are set", bool(info.id) and info.codebase_id == sandbox.codebase_id,
            f"id={info.id!r} codebase_id={info.codebase_id!r} want {sandbox.codebase_id!r}")
    R.equal("from_local: labels echoed back", dict(info.labels), {"suite": "compat", "flow": "sync"})
    R.equal("from_local: runtime echoed back as RUNTIME_TYPE_BWRAP",
            sandbox_pb2.RuntimeType.Name(info.runtime), "RUNTIME_TYPE_BWRAP")
    got_rules = [(p.pattern, common_pb2.Permission.Name(p.permission), common_pb2.PatternType.Name(p.type), p.priority)
                 for p in info.permissions]
    want_rules = [(r["pattern"], "PERMISSION_" + r["permission"].upper(), "PATTERN_TYPE_GLOB", r["priority"])
                  for r in af.PRESETS["agent-safe"]]
    R.check("from_local: the agent-safe preset's 9 rules echoed back in order", got_rules == want_rules,
            f"got {got_rules}")
    R.check("from_local: created_at and started_at are set",
            info.created_at.seconds > 0 and info.started_at.seconds > 0,
            f"created_at={info.created_at.seconds} started_at={info.started_at.seconds}")
    cb = sandbox._client.get_codebase(sandbox.codebase_id)
    R.equal("GetCodebase after upload: file_count", cb.file_count, len(EXPECTED_FILES))
    want_size = sum(len(c) for _, c in af.walk_directory(project))
    R.equal("GetCodebase after upload: size in bytes", cb.size, want_size)

if sandbox is not None:
    with R.section("upload_file result"):
        up = sandbox._client.upload_file(sandbox.codebase_id, "data/big2.bin", BIG)
        R.equal("UploadFiles (4 data chunks): UploadResult.size", up.size, len(BIG))
        R.equal("UploadFiles: UploadResult.file_path", up.file_path, "data/big2.bin")
        R.equal("UploadFiles: UploadResult.codebase_id", up.codebase_id, sandbox.codebase_id)
        digests = {"sha256": hashlib.sha256(BIG).hexdigest(), "md5": hashlib.md5(BIG).hexdigest()}
        kind = [k for k, v in digests.items() if v == up.checksum]
        R.check("UploadFiles: UploadResult.checksum is the hex digest of the content", bool(kind),
                f"checksum {up.checksum!r} is neither sha256 nor md5 of the bytes")
        empty = sandbox._client.upload_file(sandbox.codebase_id, "empty.txt", b"")
        R.equal("UploadFiles with metadata only (empty file): size 0", empty.size, 0)

    with R.section("run"):
        res = sandbox.run("sh build.sh")
        R.equal("run('sh build.sh'): exit_code", res.exit_code, 0)
        R.equal("run('sh build.sh'): stdout", res.stdout, "build-done\n")
        R.check("run: ExecResult.duration is set", res.duration.seconds > 0 or res.duration.nanos > 0,
                f"duration {res.duration}")
        res = sandbox.run("pwd")
        R.equal("run('pwd'): commands start in /workspace", res.stdout.strip(), "/workspace")
        res = sandbox.run("echo out; echo err >&2; exit 3")
        R.check("run: stdout, stderr and a non-zero exit code are separate",
                (res.stdout, res.stderr, res.exit_code) == ("out\n", "err\n", 3),
                f"got stdout={res.stdout!r} stderr={res.stderr!r} exit={res.exit_code}")
        res = sandbox.exec("cat; echo \"$GREETING\"; pwd", stdin="from-stdin\n", env={"GREETING": "hi"},
                           workdir="/workspace/src", timeout=timedelta(seconds=30))
        R.equal("exec(stdin, env, workdir): stdout", res.stdout, "from-stdin\nhi\n/workspace/src\n")
        res = sandbox.run("python3 src/app.py 2>&1 || echo no-python")
        R.info(f"python3 inside the sandbox: {res.stdout.strip()!r}")

    with R.section("read_file"):
        R.equal("read_file('/workspace/output/result.txt') sees the file the command wrote",
                sandbox.read_file("/workspace/output/result.txt"), "built # demo project\n")
        R.equal("read_file('/workspace/README.md')", sandbox.read_file("/workspace/README.md"), "# demo project\n")
        R.equal("read_file('README.md') (relative path)", sandbox.read_file("README.md"), "# demo project\n")
        R.check("read_file_bytes of a 200 KiB upload round-trips byte for byte",
                sandbox.read_file_bytes("/workspace/data/big.bin") == BIG, "content differs")
        listed = set(sandbox.list_files(recursive=True))
        R.check("list_files(recursive=True) lists the uploads and the command's output",
                (EXPECTED_FILES | {"output/result.txt"}) <= listed and "__pycache__/junk.pyc" not in listed,
                f"got {sorted(listed)}")
        top = sandbox._client.list_files(sandbox.codebase_id, "", False)
        names = {f.name: f for f in top}
        R.check("ListFiles(root, not recursive): FileInfo name/is_dir",
                "src" in names and names["src"].is_dir and "README.md" in names and not names["README.md"].is_dir,
                f"got {[(f.path, f.name, f.is_dir) for f in top]}")
        R.check("ListFiles: FileInfo.size of README.md", names.get("README.md") is not None
                and names["README.md"].size == len("# demo project\n"), "wrong size")
        sub = sandbox.list_files("/workspace/src")
        R.check("list_files('/workspace/src') -> ListFiles(path='src')", any(p.endswith("app.py") for p in sub),
                f"got {sub}")

    with R.section("write_file"):
        sandbox.write_file("/workspace/output/from-client.txt", "written by the client\n")
        res = sandbox.run("cat output/from-client.txt")
        R.equal("write_file (UploadFiles) is visible to the next command", res.stdout, "written by the client\n")

    with R.section("low-level"):
        c = sandbox._client
        got = c.get_sandbox(sandbox.id)
        R.check("get_sandbox: RUNNING", got.status == common_pb2.SANDBOX_STATUS_RUNNING, af.status_name(got.status))
        ids = [s.id for s in c.list_sandboxes(sandbox.codebase_id)]
        R.check("list_sandboxes(codebase_id) contains the sandbox", sandbox.id in ids, f"got {ids}")
        owner = sandbox.codebase.owner_id
        R.check("list_codebases(owner_id) contains the codebase",
                sandbox.codebase_id in [x.id for x in c.list_codebases(owner)], "missing")
        t_before = time.time()
        sb2 = c.create_sandbox(sandbox.codebase_id, permissions=[{"pattern": "**/*", "permission": "read"}],
                               expires_in=timedelta(minutes=5))
        R.check("create_sandbox: PENDING", sb2.status == common_pb2.SANDBOX_STATUS_PENDING, af.status_name(sb2.status))
        exp = sb2.expires_at.seconds
        R.check("create_sandbox(expires_in=5 min): expires_at ~ now + 300 s",
                abs(exp - (t_before + 300)) < 30, f"expires_at={exp}, now={t_before:.0f}")
        c.destroy_sandbox(sb2.id)
        # from_codebase / connect / stop
        other = af.Sandbox.from_codebase(sandbox.codebase_id, preset="read-only", endpoint=EP)
        res = other.run("cat README.md")
        R.equal("from_codebase(read-only): reads the shared codebase", res.stdout, "# demo project\n")
        again = af.Sandbox.connect(other.id, endpoint=EP)
        R.equal("connect(sandbox_id): same codebase", again.codebase_id, sandbox.codebase_id)
        again.stop()
        R.check("stop(): STOPPED", again.info.status == common_pb2.SANDBOX_STATUS_STOPPED,
                af.status_name(again.info.status))
        R.check("stop(): stopped_at is set", again.info.stopped_at.seconds > 0, "stopped_at unset")
        again._client.close()
        other.destroy()  # does not own the codebase: only DestroySandbox
        R.check("destroy() of a from_codebase sandbox keeps the codebase",
                c.get_codebase(sandbox.codebase_id).id == sandbox.codebase_id, "codebase gone")

    with R.section("destroy"):
        sid, cid = sandbox.id, sandbox.codebase_id
        sandbox.destroy(delete_codebase=True)
        with af.SandboxClient(EP) as c:
            R.expect_status("after destroy: GetSandbox", lambda: c.get_sandbox(sid), grpc.StatusCode.NOT_FOUND)
            R.expect_status("after destroy(delete_codebase=True): GetCodebase",
                            lambda: c.get_codebase(cid), grpc.StatusCode.NOT_FOUND)

    with R.section("context manager"):
        with af.Sandbox.from_local(project, preset="read-only", endpoint=EP) as sb:
            sid, cid = sb.id, sb.codebase_id
            R.equal("with Sandbox.from_local(...) as sb: sb.run", sb.run("echo ok").stdout, "ok\n")
        with af.SandboxClient(EP) as c:
            R.expect_status("after the with block: GetSandbox", lambda: c.get_sandbox(sid), grpc.StatusCode.NOT_FOUND)
            R.expect_status("after the with block: GetCodebase (owned, deleted)",
                            lambda: c.get_codebase(cid), grpc.StatusCode.NOT_FOUND)

R.finish()
