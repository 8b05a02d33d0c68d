"""A private single-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd from
Debian's munge and slurm-wlm, with their own key, socket, ports, state and spool folders under
one temporary directory, so it neither needs nor touches a system Slurm.

    with SlurmCluster(tmp_path) as cluster:
        env = cluster.env()          # SLURM_CONF for sbatch/squeue/sinfo
        ...

The daemons run as root (SlurmUser=root) with proctrack/linuxproc and task/none, so no cgroups
are needed. `unavailable()` says why a cluster cannot be started here (not root, programs
missing); tests skip with that reason.
"""
import os
import shutil
import signal
import socket
import subprocess
import time

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


def unavailable():
    """None when a private cluster can be started, else the reason it cannot."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None
               and not os.path.exists(os.path.join("/usr/sbin", p))]
    if missing:
        return "Slurm/munge programs missing: " + ", ".join(missing)
    if os.geteuid() != 0:
        return "the private Slurm cluster needs root (SlurmUser=root)"
    return None


def _free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _exe(name):
    return shutil.which(name) or os.path.join("/usr/sbin", name)


class SlurmCluster:
    def __init__(self, root):
        self.root = os.path.abspath(str(root))
        self.procs = []
        self.conf = os.path.join(self.root, "slurm.conf")
        self.socket = os.path.join(self.root, "munge", "munge.socket")

    def env(self):
        e = dict(os.environ, SLURM_CONF=self.conf)
        e["PATH"] = "/usr/sbin:" + e.get("PATH", "")
        return e

    def _start(self, argv, log):
        out = open(os.path.join(self.root, log), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env(),
                             start_new_session=True)
        self.procs.append(p)
        return p

    def _wait(self, what, check, timeout=30):
        t0 = time.time()
        while time.time() - t0 < timeout:
            if check():
                return
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[0]} exited ({p.returncode}) while waiting for "
                                       f"{what}; see {self.root}")
            time.sleep(0.2)
        raise RuntimeError(f"timed out waiting for {what}; see {self.root}")

    def __enter__(self):
        for d in ("munge", "state", "spool", "log"):
            os.makedirs(os.path.join(self.root, d), exist_ok=True)
        os.chmod(os.path.join(self.root, "munge"), 0o700)
        key = os.path.join(self.root, "munge", "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        try:
            self._start([_exe("munged"), "-F", "-f", f"--key-file={key}",
                         f"--socket={self.socket}",
                         f"--pid-file={os.path.join(self.root, 'munge', 'munged.pid')}",
                         f"--seed-file={os.path.join(self.root, 'munge', 'munged.seed')}",
                         f"--log-file={os.path.join(self.root, 'munge', 'munged.log')}"],
                        "munged.out")
            self._wait("munged", lambda: os.path.exists(self.socket))
            host = socket.gethostname().split(".")[0]
            ctld, slurmd = _free_ports(2)
            mem = max(512, int(open("/proc/meminfo").readline().split()[1]) // 1024 - 1024)
            r = self.root
            with open(self.conf, "w") as f:
                f.write(f"""ClusterName=stpipetest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.socket}
CredType=cred/munge
SlurmctldPort={ctld}
SlurmdPort={slurmd}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
            self._start([_exe("slurmctld"), "-D", "-i", "-f", self.conf], "slurmctld.out")
            self._wait("slurmctld", lambda: self._run("sinfo", "-h").returncode == 0)
            self._start([_exe("slurmd"), "-D", "-f", self.conf], "slurmd.out")
            self._wait("an idle node", lambda: "idle" in self._run(
                "sinfo", "-h", "-o", "%T").stdout)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _run(self, *argv):
        return subprocess.run([_exe(argv[0]), *argv[1:]], capture_output=True, text=True,
                              env=self.env())

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in reversed(self.procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        self.procs = []
        return False
