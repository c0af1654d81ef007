"""The status codes the SDK turns into its typed errors, against an AgentFense server.

Usage: /usr/bin/python3 test/compat/errors.py unix:/path/to/socket   (see compat_lib.py)

The SDK (sdk/python/sandbox_sdk/client.py, `_handle_grpc_errors` -> exceptions.from_grpc_error)
maps NOT_FOUND to SandboxNotFoundError / CodebaseNotFoundError / SessionNotFoundError,
FAILED_PRECONDITION to SandboxNotRunningError, DEADLINE_EXCEEDED to CommandTimeoutError,
INVALID_ARGUMENT to InvalidConfigurationError, UNAVAILABLE to ConnectionError. So the code
(not the message) is what must match. Blocks and the SDK calls they mirror (AjaxZhan/AgentFense):
- [not-found]   Sandbox.connect("sb_unknown") -> GetSandbox; client.exec on an unknown sandbox ->
                Exec; get_codebase / delete_codebase / download_file / upload_file on unknown ids;
                read_file of a missing file -> DownloadFile; get_session / session_exec on an
                unknown session; destroy_sandbox of an unknown id; create_sandbox on an unknown
                codebase.
- [state]       Sandbox.from_local(auto_start=False) then run -> Exec on a PENDING sandbox;
                Sandbox.stop() then run -> Exec on a STOPPED sandbox (FAILED_PRECONDITION
                "sandbox is not running"); Sandbox.start() twice -> StartSandbox on a running
                sandbox (FAILED_PRECONDITION "already running"); exec_stream / create_session
                on a stopped sandbox; start() again after stop() brings it back.
- [timeout]     Sandbox.run("sleep 30", timeout=1) -> Exec with timeout Duration(1s) ->
                DEADLINE_EXCEEDED (the SDK sets no gRPC deadline: the server must answer).
- [invalid]     Exec with an empty command, GetSandbox with an empty id -> INVALID_ARGUMENT.
- [unavailable] SandboxClient on a socket nobody listens on -> UNAVAILABLE.
"""

import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, common_pb2  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("errors")
base = af.temp_base()
project = af.make_project(base, "errors", {"README.md": "errors demo\n"})
NF = grpc.StatusCode.NOT_FOUND
FP = grpc.StatusCode.FAILED_PRECONDITION
c = af.SandboxClient(EP)

with R.section("not-found"):
    R.expect_status("Sandbox.connect(unknown id) -> GetSandbox", lambda: af.Sandbox.connect("sb_doesnotexist", EP), NF)
    R.expect_status("exec on an unknown sandbox", lambda: c.exec("sb_doesnotexist", "echo hi"), NF)
    R.expect_status("exec_stream on an unknown sandbox", lambda: list(c.exec_stream("sb_doesnotexist", "echo hi")), NF)
    R.expect_status("start_sandbox of an unknown sandbox", lambda: c.start_sandbox("sb_doesnotexist"), NF)
    R.expect_status("destroy_sandbox of an unknown sandbox", lambda: c.destroy_sandbox("sb_doesnotexist"), NF)
    R.expect_status("create_session on an unknown sandbox", lambda: c.create_session("sb_doesnotexist"), NF)
    R.expect_status("get_codebase of an unknown codebase", lambda: c.get_codebase("cb_doesnotexist"), NF)
    R.expect_status("delete_codebase of an unknown codebase", lambda: c.delete_codebase("cb_doesnotexist"), NF)
    R.expect_status("create_sandbox on an unknown codebase",
                    lambda: c.create_sandbox("cb_doesnotexist", af.preset_dicts("read-only")), NF)
    R.expect_status("upload_file to an unknown codebase", lambda: c.upload_file("cb_doesnotexist", "a.txt", b"x"), NF)
    R.expect_status("download_file from an unknown codebase", lambda: c.download_file("cb_doesnotexist", "a.txt"), NF)
    R.expect_status("get_session of an unknown session", lambda: c.get_session("sess_doesnotexist"), NF)
    R.expect_status("session_exec in an unknown session", lambda: c.session_exec("sess_doesnotexist", "pwd"), NF)
    R.expect_status("destroy_session of an unknown session", lambda: c.destroy_session("sess_doesnotexist"), NF)

sandbox = None
with R.section("state"):
    sandbox = af.Sandbox.from_local(project, preset="agent-safe", endpoint=EP, auto_start=False)
    R.check("from_local(auto_start=False): PENDING", sandbox.info.status == common_pb2.SANDBOX_STATUS_PENDING,
            af.status_name(sandbox.info.status))
    R.expect_status("run on a PENDING sandbox", lambda: sandbox.run("echo hi"), FP)
    sandbox.start()
    R.equal("start(): run works", sandbox.run("echo hi").stdout, "hi\n")
    R.expect_status("StartSandbox on a running sandbox", lambda: c.start_sandbox(sandbox.id), FP, "already running")
    sandbox.stop()
    R.check("stop(): STOPPED", sandbox.info.status == common_pb2.SANDBOX_STATUS_STOPPED,
            af.status_name(sandbox.info.status))
    R.expect_status("run on a STOPPED sandbox", lambda: sandbox.run("echo hi"), FP, "not running")
    R.expect_status("exec_stream on a STOPPED sandbox", lambda: list(sandbox.exec_stream("echo hi")), FP)
    R.expect_status("create_session on a STOPPED sandbox", lambda: sandbox.session(), FP)
    # The original (internal/runtime/bwrap/bwrap.go Stop) answers ErrNotRunning -> FAILED_PRECONDITION
    # "sandbox is not running". The SDK's Sandbox.stop() skips the call when not RUNNING,
    # SandboxClient.stop_sandbox does not.
    R.expect_status("StopSandbox on a stopped sandbox (original: 'sandbox is not running')",
                    lambda: c.stop_sandbox(sandbox.id), FP)
    R.check("read_file still works on a stopped sandbox (codebase service)",
            sandbox.read_file("/workspace/README.md") == "errors demo\n", "content differs")
    R.expect_status("read_file of a missing file", lambda: sandbox.read_file("/workspace/nope.txt"), NF)
    sandbox.start()
    R.check("start() after stop(): RUNNING", sandbox.info.status == common_pb2.SANDBOX_STATUS_RUNNING,
            af.status_name(sandbox.info.status))
    R.equal("run after a restart", sandbox.run("cat README.md").stdout, "errors demo\n")

if sandbox is not None:
    with R.section("timeout"):
        t0 = time.monotonic()
        R.expect_status("run('sleep 30', timeout=1)", lambda: sandbox.run("sleep 30", timeout=1),
                        grpc.StatusCode.DEADLINE_EXCEEDED)
        took = time.monotonic() - t0
        R.check("the timeout is answered within 5 s", took < 5, f"took {took:.2f}s")
        R.expect_status("exec('sleep 30', timeout=timedelta(milliseconds=500))",
                        lambda: sandbox.exec("sleep 30", timeout=timedelta(milliseconds=500)),
                        grpc.StatusCode.DEADLINE_EXCEEDED)
        R.equal("the sandbox works after timeouts", sandbox.run("echo fine").stdout, "fine\n")

    with R.section("invalid"):
        R.expect_status("exec with an empty command", lambda: c.exec(sandbox.id, ""), grpc.StatusCode.INVALID_ARGUMENT)
        R.expect_status("get_sandbox with an empty id", lambda: c.get_sandbox(""), grpc.StatusCode.INVALID_ARGUMENT)
        # The original also refuses an empty owner_id; ours accepts it (stored as ""), so that
        # TypeScript callers may omit it. An empty name is refused by both.
        R.expect_status("create_codebase without a name", lambda: c.create_codebase("", "owner"),
                        grpc.StatusCode.INVALID_ARGUMENT)

    with R.section("teardown"):
        sandbox.destroy()
        R.expect_status("destroy twice (DestroySandbox of a destroyed sandbox)",
                        lambda: c.destroy_sandbox(sandbox.id), NF)

with R.section("unavailable"):
    bad = af.SandboxClient(f"unix:{base}/nobody-listens.sock")
    R.expect_status("a socket nobody listens on", lambda: bad.list_codebases(), grpc.StatusCode.UNAVAILABLE)
    bad.close()

c.close()
R.finish()
