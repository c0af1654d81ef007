"""The SDK's Docker flow, call for call, against an AgentFense server with a Docker engine.

Usage: AF_COMPAT_DOCKER_IMAGE=<image> /usr/bin/python3 test/compat/docker_flow.py unix:/path/to/socket

AgentFense's guide runs language images with `Sandbox.from_local(path, preset=..., runtime=
RuntimeType.DOCKER, image="python:3.11-slim", resources=...)`: CreateCodebase -> UploadFiles ->
CreateSandbox(runtime DOCKER, image, resources) -> StartSandbox; then Sandbox.run (Exec),
read_file (DownloadFile) of what the command wrote, a session, destroy. No registry is reachable
here, so the image is the one the test imported into its private engine (AF_COMPAT_DOCKER_IMAGE).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compat_lib as af  # noqa: E402
from compat_lib import grpc, common_pb2, sandbox_pb2  # noqa: E402

EP = af.endpoint_from_argv()
IMAGE = os.environ["AF_COMPAT_DOCKER_IMAGE"]
R = af.Report("docker_flow")
base = af.temp_base()
project = af.make_project(base, "docker-project", {
    "README.md": "# docker demo\n",
    "build.sh": "mkdir -p output\necho \"built in $(uname -s)\" > output/result.txt\necho build-done\n",
    ".env": "SECRET=do-not-leak\n",
})

sandbox = None
with R.section("from_local(runtime=DOCKER)"):
    t0 = time.monotonic()
    sandbox = af.Sandbox.from_local(project, preset="agent-safe", runtime="docker", image=IMAGE,
                                    resources={"memory_bytes": 256 * 1024 * 1024, "pids_limit": 128},
                                    endpoint=EP)
    R.info(f"from_local took {time.monotonic() - t0:.2f}s")
    info = sandbox.info
    R.check("docker: StartSandbox returns status RUNNING", info.status == common_pb2.SANDBOX_STATUS_RUNNING,
            f"status {af.status_name(info.status)}")
    R.equal("docker: runtime echoed back as RUNTIME_TYPE_DOCKER",
            sandbox_pb2.RuntimeType.Name(info.runtime), "RUNTIME_TYPE_DOCKER")
    R.equal("docker: image echoed back", info.image, IMAGE)
    R.equal("docker: resources echoed back", (info.resources.memory_bytes, info.resources.pids_limit),
            (256 * 1024 * 1024, 128))

if sandbox is not None:
    with R.section("run and read_file"):
        r = sandbox.run("sh build.sh")
        R.equal("docker: run('sh build.sh') exit_code", r.exit_code, 0)
        R.equal("docker: run stdout", r.stdout, "build-done\n")
        R.equal("docker: read_file sees what the command wrote", sandbox.read_file("/workspace/output/result.txt"),
                "built in Linux\n")
        r = sandbox.run("id -u; cat .env 2>&1; exit 3")
        R.equal("docker: a non-zero exit code is reported", r.exit_code, 3)
        R.check("docker: the command runs as a non-root user", r.stdout.split("\n")[0] != "0", r.stdout)
        R.check("docker: .env is absent under agent-safe", "do-not-leak" not in r.stdout
                and "No such file" in r.stdout, r.stdout)
        R.expect_status("docker: run('sleep 30', timeout=1)", lambda: sandbox.run("sleep 30", timeout=1),
                        grpc.StatusCode.DEADLINE_EXCEEDED)

    with R.section("session"):
        s = sandbox.session()
        s.exec("cd output && export GREETING=hi")
        r = s.exec("pwd; echo $GREETING")
        R.equal("docker: session keeps cwd and exported variables", r.stdout, "/workspace/output\nhi\n")
        sandbox._client.destroy_session(s.id)

    with R.section("destroy"):
        sid = sandbox.id
        sandbox.destroy(delete_codebase=True)
        with af.SandboxClient(EP) as c:
            R.expect_status("docker: after destroy, GetSandbox", lambda: c.get_sandbox(sid), grpc.StatusCode.NOT_FOUND)

R.finish()
