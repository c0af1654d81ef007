"""Sandbox.exec_stream against an AgentFense server: ExecStream chunks and the end of the stream.

Usage: /usr/bin/python3 test/compat/exec_stream.py unix:/path/to/socket   (see compat_lib.py)

Blocks and the SDK code they mirror (AjaxZhan/AgentFense):
- setup:      sdk/python/sandbox_rls/sandbox.py Sandbox.from_local(path, preset="agent-safe").
- [stream]    Sandbox.exec_stream(command) -> sandbox_sdk/client.py SandboxClient.exec_stream:
              ExecStream(ExecRequest{sandbox_id, command, stdin "", env {}, workdir "", timeout?});
              the SDK yields `response.data` of each ExecOutput. We also look at `type`
              (OUTPUT_TYPE_STDOUT / OUTPUT_TYPE_STDERR, defined by the protocol), check that the
              first chunk arrives while the command still runs, and that the stream ends.
- [exit]      ExecOutput has no exit-code field: a successful command ends the stream with
              status OK. For a failing command the script records what the server does.
- [sync]      files written by an ExecStream command are visible to Sandbox.read_file
              (DownloadFile) once the stream has ended.
- [timeout]   exec_stream(timeout=timedelta(seconds=1)) of `sleep 30` ends promptly.
- [async]     AsyncSandbox.exec_stream (sdk/python/sandbox_rls/_async/sandbox.py) over grpc.aio.
- teardown:   Sandbox.destroy() -> DestroySandbox, DeleteCodebase.
"""

import asyncio
import os
import sys
import time
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, sandbox_pb2  # noqa: E402

EP = af.endpoint_from_argv()
R = af.Report("exec_stream")
base = af.temp_base()
project = af.make_project(base, "stream", {"README.md": "stream demo\n"})
STDOUT = sandbox_pb2.ExecOutput.OUTPUT_TYPE_STDOUT
STDERR = sandbox_pb2.ExecOutput.OUTPUT_TYPE_STDERR

sandbox = None
with R.section("setup"):
    sandbox = af.Sandbox.from_local(project, preset="agent-safe", endpoint=EP)

if sandbox is not None:
    with R.section("stream"):
        t0 = time.monotonic()
        first_at = None
        chunks = []
        for out in sandbox.exec_stream("echo first; sleep 1.5; echo oops >&2; echo second"):
            if first_at is None:
                first_at = time.monotonic() - t0
            chunks.append(out)
        total = time.monotonic() - t0
        stdout = b"".join(c.data for c in chunks if c.type == STDOUT)
        stderr = b"".join(c.data for c in chunks if c.type == STDERR)
        everything = b"".join(c.data for c in chunks)
        R.info(f"{len(chunks)} chunks, first after {first_at}s, stream ended after {total:.2f}s, "
               f"types {[sandbox_pb2.ExecOutput.OutputType.Name(c.type) for c in chunks]}")
        R.check("exec_stream: the SDK's view (all .data joined) has every line",
                all(x in everything for x in (b"first\n", b"oops\n", b"second\n")), f"got {everything!r}")
        R.equal("exec_stream: OUTPUT_TYPE_STDOUT chunks carry stdout", stdout, b"first\nsecond\n")
        R.equal("exec_stream: OUTPUT_TYPE_STDERR chunks carry stderr", stderr, b"oops\n")
        R.check("exec_stream: the first chunk arrives while the command still runs (streamed, not buffered)",
                first_at is not None and first_at < 1.2, f"first chunk after {first_at}s (command takes 1.5 s)")
        R.check("exec_stream: the stream ends when the command ends", 1.4 <= total < 10, f"ended after {total:.2f}s")

    with R.section("exit"):
        got = b"".join(o.data for o in sandbox.exec_stream("echo done"))
        R.equal("exec_stream(exit 0): stream ends with status OK", got, b"done\n")
        try:
            data = b"".join(o.data for o in sandbox.exec_stream("echo partial; exit 7"))
            R.ok(f"exec_stream(exit 7): stream completes (status OK, data {data!r}; "
                 "ExecOutput carries no exit code, as in the original)")
        except grpc.RpcError as e:
            R.ok(f"exec_stream(exit 7): stream completes with a status: {af.rpc_desc(e)}")

    with R.section("sync"):
        list(sandbox.exec_stream("mkdir -p output && echo streamed > output/stream.txt"))
        R.equal("read_file sees a file written by an ExecStream command",
                sandbox.read_file("/workspace/output/stream.txt"), "streamed\n")

    with R.section("timeout"):
        t0 = time.monotonic()
        try:
            list(sandbox.exec_stream("sleep 30", timeout=timedelta(seconds=1)))
            R.fail("exec_stream(sleep 30, timeout=1s)", "stream ended with OK")
        except grpc.RpcError as e:
            took = time.monotonic() - t0
            R.check(f"exec_stream(sleep 30, timeout=1s) -> DEADLINE_EXCEEDED within 5 s ({af.rpc_desc(e)})",
                    e.code() == grpc.StatusCode.DEADLINE_EXCEEDED and took < 5,
                    f"got {af.rpc_desc(e)} after {took:.2f}s")
        res = sandbox.run("echo still-alive")
        R.equal("sandbox still usable after a timed-out stream", res.stdout, "still-alive\n")

    async def async_stream():
        async with await af.AsyncSandbox.from_local(project, preset="agent-safe", endpoint=EP) as sb:
            parts = [d async for d in sb.exec_stream("for i in 1 2 3; do echo line$i; done")]
            R.equal("AsyncSandbox.exec_stream yields the bytes", b"".join(parts), b"line1\nline2\nline3\n")

    with R.section("async"):
        asyncio.run(async_stream())

    with R.section("teardown"):
        sandbox.destroy()
        R.ok("destroy()")

R.finish()
