"""A real SLURM on loopback for the tests: ``munged``, ``slurmctld`` and one ``slurmd`` per node,
all in a temporary folder, started as root (the daemons need it) and stopped at the end.

Several ``slurmd`` on one host is how SLURM's own developers test multi-node jobs: each node is
a ``NodeName`` line with ``NodeAddr=127.0.0.1`` and its own port, and ``slurmd -N <node>`` says
which one a daemon is.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol")


def missing_binaries() -> list[str]:
    return [name for name in DAEMONS if shutil.which(name) is None and not Path(f"/usr/sbin/{name}").exists()]


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class SlurmCluster:
    """A one-partition cluster of ``nodes`` nodes with ``cpus`` CPUs each, in ``folder``."""

    def __init__(self, folder: Path, nodes: int = 1, cpus: int | None = None) -> None:
        self.folder = folder
        self.nodes = [f"n{i + 1}" for i in range(nodes)]
        self.cpus = cpus or os.cpu_count() or 1
        self.processes: list[subprocess.Popen] = []
        self.conf = folder / "slurm.conf"
        self.socket = folder / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """The environment a client (``sbatch``, ``scontrol``) needs to find this cluster."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
        env["SLURM_CONF"] = str(self.conf)
        return env

    def _write_conf(self) -> None:
        ctld_port, *node_ports = _free_ports(1 + len(self.nodes))
        f = self.folder
        lines = [
            "ClusterName=lightlabtest",
            "SlurmctldHost=localhost(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            # Credentials expire after 10 s, so a requeued job may start again 10 s later, not 120 s.
            f"AuthInfo=socket={self.socket},cred_expire=10",
            f"StateSaveLocation={f / 'state'}",
            f"SlurmdSpoolDir={f / 'spool'}/%n",
            f"SlurmctldPidFile={f / 'slurmctld.pid'}",
            f"SlurmdPidFile={f / 'slurmd'}-%n.pid",
            f"SlurmctldLogFile={f / 'slurmctld.log'}",
            f"SlurmdLogFile={f / 'slurmd'}-%n.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/builtin",
            "MpiDefault=none",
            "ReturnToService=2",
            "SlurmdParameters=config_overrides",
            "JobRequeue=1",
            "KillWait=10",
            "MinJobAge=600",
            "SlurmctldTimeout=30",
            "SlurmdTimeout=60",
            "InactiveLimit=0",
            "SchedulerParameters=sched_interval=1",
        ]
        for name, port in zip(self.nodes, node_ports, strict=True):
            lines.append(
                f"NodeName={name} NodeAddr=127.0.0.1 NodeHostname=localhost Port={port} "
                f"CPUs={self.cpus} RealMemory=1000 State=UNKNOWN"
            )
        lines.append("PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n")
        (f / "state").mkdir(exist_ok=True)
        for name in self.nodes:
            (f / "spool" / name).mkdir(parents=True, exist_ok=True)

    def _start(self, *command: str) -> None:
        log = open(self.folder / f"{Path(command[0]).name}-{len(self.processes)}.out", "w")  # noqa: SIM115
        self.processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.folder)
        )

    def start(self, timeout: float = 60) -> SlurmCluster:
        self._write_conf()
        key = self.folder / "munge.key"
        subprocess.run([_binary("mungekey"), "--create", f"--keyfile={key}"], check=True)
        key.chmod(0o600)
        self._start(
            _binary("munged"),
            "--foreground",
            "--force",
            f"--socket={self.socket}",
            f"--key-file={key}",
            f"--pid-file={self.folder / 'munged.pid'}",
            f"--log-file={self.folder / 'munged.log'}",
            f"--seed-file={self.folder / 'munged.seed'}",
        )
        self._wait(lambda: self.socket.exists(), timeout, "munged")
        self._start(_binary("slurmctld"), "-D", "-i", "-f", str(self.conf))
        for name in self.nodes:
            self._start(_binary("slurmd"), "-D", "-N", name, "-f", str(self.conf))
        self._wait(self._nodes_idle, timeout, "slurmd")
        return self

    def _nodes_idle(self) -> bool:
        result = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%N %t"], capture_output=True, text=True, env=self.env
        )
        states = dict(line.split() for line in result.stdout.splitlines() if line.strip())
        return result.returncode == 0 and all(states.get(n) == "idle" for n in self.nodes)

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [p.args[0] for p in self.processes if p.poll() is not None]
            if dead:
                break
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not come up; logs in {self.folder}")

    def stop(self) -> None:
        subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True)
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    # ---- jobs

    def sbatch(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["sbatch", "--parsable", *args],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"sbatch failed: {result.stderr}")
        return result.stdout.strip().split(";")[0]

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job``'s fields (``JobState``, ``Restarts``, ``ExitCode``…)."""
        out = subprocess.run(
            ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, env=self.env
        ).stdout
        return dict(re.findall(r"(\w+)=(\S*)", out))

    def wait_for(self, job_id: str, states: set[str], timeout: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.job(job_id)
            if info.get("JobState") in states:
                return info
            time.sleep(0.5)
        raise TimeoutError(f"job {job_id} did not reach {states}: {self.job(job_id)}")

    def signal(self, job_id: str, name: str) -> None:
        subprocess.run(["scancel", f"--signal={name}", job_id], env=self.env, check=True)
