#!/usr/bin/python3
"""A chaos run: jobs of known outcome through several execd nodes on one
Redis while nodes are killed, drained and reloaded and Redis restarts.

    tests/chaos/chaos.py [--jobs N] [--seconds S] [--nodes K] [--seed X]

Starts its own redis-server (append-only file, fsync on every write) on a
free loopback port and K execd nodes (build/daemon/execd) on 127.0.0.1:0,
submits N jobs spread over S seconds to whichever node answers, and
meanwhile, at random moments: kills a node with SIGKILL and starts it
again, drains one with SIGTERM and starts it again when it has exited,
sends one SIGHUP, and restarts Redis. Jobs are of every kind whose outcome
is known in advance (OK, RuntimeError, TimeLimitExceeded,
MemoryLimitExceeded, OutputLimitExceeded, CompileError, a graded job that
is WrongAnswer), and some are cancelled: a moment after they are accepted,
or at once behind a burst of slow jobs that takes every worker, so that the
cancel finds them queued. Afterwards every accepted job must
have exactly one final result, equal to what its kind gives, and read the
same twice (through whichever nodes answer):

- a job cancelled while queued (DELETE answered 200) ends cancelled, with
  no result;
- a job cancelled while running (202) ends cancelled or, if it finished
  first, with its result; one that had finished (409) keeps its result;
- an InternalError is allowed only as the run's doing (a job whose every
  attempt lost its worker), and is counted;
- the nodes' logs record one completion per job, never two.

It prints a reconciliation table and exits 1 if any job is lost,
duplicated, wrong, or has a result it must not have; if a submission is
refused other than by a node that is stopping; if more than a tenth of the
submissions go unanswered; or if a fault could not be injected (and, in a
run long enough for five rounds of faults, if a kind was never injected, or
if no cancel found its job queued).
The seed fixes the faults' order and timing; which node answers each
request is left to chance. Needs root (the sandbox) and a build (cmake
--build build). Talks only to 127.0.0.1, whatever proxy the environment
names.
"""

import argparse
import collections
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python(code, **extra):
    return dict({"language": "python", "code": code}, **extra)


# Each kind: its request, and the verdict it must end with.
KINDS = {
    "ok": (python("print(sum(range(100)))"), "OK"),
    "ok-c": ({"language": "c", "code": '#include <stdio.h>\nint main(void){puts("c");return 0;}'}, "OK"),
    "slow-ok": (python("import time\ntime.sleep(1.5)\nprint('slept')", timeoutMs=6000), "OK"),
    "runtime-error": (python("import sys; sys.exit(3)"), "RuntimeError"),
    "time": (python("while True: pass", timeoutMs=300), "TimeLimitExceeded"),
    "memory": (python("b = bytearray(400 << 20)", memoryMb=64), "MemoryLimitExceeded"),
    "output": (python("print('x' * 100000)", outputBytes=1000), "OutputLimitExceeded"),
    "compile-error": ({"language": "c", "code": "int main(void) { return }"}, "CompileError"),
    "graded": (python("print(int(input()) * 2)", tests=[
        {"name": "a", "stdin": "2", "expectedOutput": "4\n"},
        {"name": "b", "stdin": "3", "expectedOutput": "7\n"}]), "WrongAnswer"),
    # Cancelled a moment after it is accepted: queued, running or done by then.
    "cancel": (python("import time\ntime.sleep(2)\nprint('not cancelled')", timeoutMs=6000), "OK"),
    # A burst of these takes every worker for a second (see Run.burst).
    "backlog": (python("import time\ntime.sleep(1)\nprint('backlog')", timeoutMs=6000), "OK"),
}
# "burst": a job of "backlog" for every worker, then one "cancel" cancelled
# at once, while it waits behind them.
MIX = ["ok"] * 6 + ["ok-c", "slow-ok", "runtime-error", "time", "memory", "output", "compile-error", "graded"] + \
    ["cancel"] * 2 + ["burst"]
WORKERS = 2  # per node

FINAL = ("completed", "cancelled")


# No proxy, whatever http_proxy says: every request goes to 127.0.0.1.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(port, method, path, body=None, timeout=70):
    """(status, parsed JSON or None); (0, reason) when the connection was
    refused, (None, reason) when there was no answer to what was sent."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
    except urllib.error.URLError as e:
        # Refused: nothing was sent, so nothing can have been accepted.
        return (0 if isinstance(e.reason, ConnectionRefusedError) else None), str(e)
    except (OSError, ValueError) as e:
        return None, str(e)


class Redis:
    def __init__(self, work):
        self.port = free_port()
        self.dir = os.path.join(work, "redis")
        os.makedirs(self.dir)
        self.log = open(os.path.join(work, "redis.log"), "ab")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "yes"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # SHUTDOWN: the append-only file is complete
            self.proc.wait(timeout=60)


class Node:
    def __init__(self, index, work, redis_url, prefix, instance):
        self.index, self.instance = index, instance
        self.dir = os.path.join(work, f"node{index}")
        os.makedirs(self.dir)
        self.log_path = os.path.join(self.dir, "log")
        self.redis_url, self.prefix = redis_url, prefix
        self.proc, self.port = None, None
        self.lock = threading.Lock()

    def start(self):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        env = dict(os.environ, EXECD_INSTANCE=self.instance)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(ROOT, "build/daemon/execd"), "--listen", "127.0.0.1:0", "--port-file", port_file,
                 "--redis", self.redis_url, "--key-prefix", self.prefix, "--workers", str(WORKERS),
                 "--lease-ms", "3000", "--attempts", "5", "--drain-timeout-ms", "20000",
                 "--languages", os.path.join(ROOT, "languages.toml"),
                 "--cache-dir", os.path.join(self.dir, "cache"), "--state-dir", os.path.join(self.dir, "state"),
                 "--unix-socket", os.path.join(self.dir, "api.sock")],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.index} exited at start-up; see {self.log_path}")
            try:
                text = open(port_file).read()
                if text.endswith("\n"):
                    self.port = int(text)
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"node {self.index} did not listen within 60 s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and self.port is not None

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Run:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)  # the faults thread's only
        self.fault_error = None
        self.work = tempfile.mkdtemp(prefix="execd-chaos-")
        self.redis = Redis(self.work)
        self.prefix = f"chaos{os.getpid()}:"
        self.nodes = []
        self.jobs = {}  # id -> {"kind", "delete": status or None}
        self.unanswered = 0  # submissions with no reply: maybe accepted, never counted as accepted
        self.posted = 0  # submissions, the bursts' backlog included
        self.bursts = 0
        self.refused = collections.Counter()
        self.faults = collections.Counter()
        self.fault_log = []
        self.mu = threading.Lock()
        self.stop_faults = threading.Event()
        self.faults_thread = None

    def live_ports(self):
        ports = [n.port for n in self.nodes if n.alive()]
        random.shuffle(ports)
        return ports

    # ---- load
    def submit(self, i):
        kind = MIX[i % len(MIX)]
        if kind == "burst":
            self.burst()
            return
        job_id = self.accept(kind)
        if job_id and kind == "cancel":
            time.sleep(random.uniform(0, 2.5))
            self.cancel(job_id)

    def burst(self):
        # Every worker of every node busy for a second, then a job that must
        # wait behind them, cancelled at once: its DELETE finds it queued.
        # (A worker takes a job within milliseconds, so the random delay of
        # the plain "cancel" kind almost never does.)
        backlog = [threading.Thread(target=self.accept, args=("backlog",)) for _ in range(WORKERS * len(self.nodes))]
        for t in backlog:
            t.start()
        for t in backlog:
            t.join()
        with self.mu:
            self.bursts += 1
        job_id = self.accept("cancel")
        if job_id:
            self.cancel(job_id)

    def accept(self, kind):
        """Submits a job of `kind` to whichever node takes it; its id, or
        None when it was refused or its answer lost."""
        body, _ = KINDS[kind]
        with self.mu:
            self.posted += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for port in self.live_ports():
                status, doc = request(port, "POST", "/v1/jobs", body, timeout=20)
                if status == 202:
                    job_id = doc["jobId"]
                    with self.mu:
                        self.jobs[job_id] = {"kind": kind, "delete": None}
                    return job_id
                if status is None:
                    # No reply: the job may have been accepted or not.
                    with self.mu:
                        self.unanswered += 1
                    return None
                if status not in (0, 503):
                    with self.mu:
                        self.refused[f"{status} {doc}"] += 1
                    return None
            time.sleep(0.2)  # no node up, or all draining / without Redis
        with self.mu:
            self.unanswered += 1
        return None

    def cancel(self, job_id):
        # "sent" until a reply says what happened: a node may have cancelled
        # the job and died before answering.
        # A 409 after an unanswered DELETE may be that DELETE's own doing.
        with self.mu:
            self.jobs[job_id]["delete"] = "sent"
        unanswered = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for port in self.live_ports():
                status, _ = request(port, "DELETE", f"/v1/jobs/{job_id}", timeout=10)
                if status in (200, 202) or (status == 409 and not unanswered):
                    with self.mu:
                        self.jobs[job_id]["delete"] = status
                    return
                if status == 409:
                    return  # stays "sent": cancelled by the unanswered one, or finished
                unanswered |= status is None
            time.sleep(0.2)

    def load(self):
        n, seconds = self.args.jobs, self.args.seconds
        start = time.monotonic()
        threads = []
        for i in range(n):
            # Spread evenly over the run, so the faults land among them.
            delay = start + seconds * i / n - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            t = threading.Thread(target=self.submit, args=(i,))
            t.start()
            threads.append(t)
            threads = [t for t in threads if t.is_alive()]
        for t in threads:
            t.join()

    # ---- faults
    def note(self, what):
        self.faults[what] += 1
        self.fault_log.append((round(time.monotonic() - self.started, 1), what))

    def faults_loop(self):
        try:
            self.inject_faults()
        except Exception as e:  # any at all: reported, and the run fails
            self.fault_error = f"{type(e).__name__}: {e}"

    def inject_faults(self):
        deck = []  # every kind of fault in each round, in a random order
        while not self.stop_faults.wait(self.rng.uniform(self.args.fault_gap / 2, self.args.fault_gap * 1.5)):
            if not deck:
                deck = ["kill", "kill", "drain", "hup", "redis"]
                self.rng.shuffle(deck)
            action = deck.pop()
            node = self.rng.choice(self.nodes)
            if action == "kill":
                node.signal(signal.SIGKILL)
                node.wait(30)
                self.note("node SIGKILL, restarted")
                time.sleep(self.rng.uniform(0.2, 2))
                node.start()
            elif action == "drain":
                node.signal(signal.SIGTERM)
                self.note("node SIGTERM (drain), restarted")
                node.wait(60)
                node.start()
            elif action == "hup":
                node.signal(signal.SIGHUP)
                self.note("node SIGHUP (reload)")
            else:
                self.redis.stop()
                self.note("Redis restarted")
                time.sleep(self.rng.uniform(0.2, 2))
                self.redis.start()

    # ---- reconciliation
    def results(self, ids):
        """id -> document, read through live nodes (?ids= in batches)."""
        out = {}
        for k in range(0, len(ids), 50):
            chunk = ids[k:k + 50]
            for _ in range(100):
                got = None
                for port in self.live_ports():
                    status, doc = request(port, "GET", "/v1/jobs?ids=" + ",".join(chunk) + "&wait=1000", timeout=30)
                    if status == 200:
                        got = doc["jobs"]
                        break
                if got is not None:
                    out.update({d["jobId"]: d for d in got})
                    break
                time.sleep(0.5)
        return out

    def settle(self):
        """Waits until every accepted job is final (or the deadline)."""
        deadline = time.monotonic() + self.args.settle
        pending = list(self.jobs)
        final = {}
        while pending and time.monotonic() < deadline:
            docs = self.results(pending)
            for job_id, doc in docs.items():
                if doc.get("status") in FINAL:
                    final[job_id] = doc
            pending = [j for j in pending if j not in final]
            if pending:
                time.sleep(1)
        return final

    def logged_completions(self):
        counts = collections.Counter()
        attempts = collections.Counter()
        pattern = re.compile(rb"job ([0-9a-f]{32}) (completed|cancelled)\b.* in [0-9]+ ms")
        started = re.compile(rb"job ([0-9a-f]{32}) started on .* \(attempt ([0-9]+)\)")
        for node in self.nodes:
            with open(node.log_path, "rb") as f:
                for line in f:
                    if m := pattern.search(line):
                        counts[m.group(1).decode()] += 1
                    if m := started.search(line):
                        attempts[m.group(1).decode()] = max(attempts[m.group(1).decode()], int(m.group(2)))
        return counts, attempts

    def reconcile(self, final):
        rows = collections.Counter()
        problems = []
        completions, attempts = self.logged_completions()
        again = self.results(list(final))  # read a second time, through whichever node
        for job_id, info in self.jobs.items():
            kind, deleted = info["kind"], info["delete"]
            expected = KINDS[kind][1]
            doc = final.get(job_id)
            if doc is None:
                rows["lost (no final state)"] += 1
                problems.append(f"{job_id} ({kind}) lost")
                continue
            if again.get(job_id) != doc:
                rows["result changed between two reads"] += 1
                problems.append(f"{job_id} ({kind}) read differently: {doc} then {again.get(job_id)}")
            if completions[job_id] > 1:
                rows["duplicated (two recorded completions)"] += 1
                problems.append(f"{job_id} ({kind}) recorded {completions[job_id]} times")
            status, verdict = doc.get("status"), doc.get("verdict")
            if status == "cancelled":
                if deleted in (200, 202, "sent"):
                    what = {200: "queued", 202: "running", "sent": "its DELETE unanswered"}[deleted]
                    rows[f"cancelled as asked ({what})"] += 1
                else:
                    rows["cancelled without being asked"] += 1
                    problems.append(f"{job_id} ({kind}) cancelled, DELETE answered {deleted}: {doc}")
                continue
            if deleted == 200:
                rows["a result for a job cancelled while queued"] += 1
                problems.append(f"{job_id} ({kind}) cancelled while queued, yet has a result: {doc}")
                continue
            if verdict == expected:
                rows[f"{expected}, as expected" + (" (finished before its cancel)" if deleted else "")] += 1
            elif verdict == "InternalError" and "lost its worker on every attempt" in doc.get("message", "") \
                    and attempts[job_id] >= 2:
                rows["InternalError: its workers died on every attempt (the run's doing)"] += 1
            else:
                rows["wrong verdict"] += 1
                problems.append(f"{job_id} ({kind}) expected {expected}, got {verdict}: {doc}")
        reruns = sum(1 for j in self.jobs if attempts[j] >= 2)
        return rows, problems, reruns

    def go(self):
        self.started = time.monotonic()
        self.redis.start()
        for i in range(self.args.nodes):
            node = Node(i, self.work, f"redis://127.0.0.1:{self.redis.port}", self.prefix, f"chaos-{os.getpid()}")
            node.start()
            self.nodes.append(node)
        self.faults_thread = threading.Thread(target=self.faults_loop)
        self.faults_thread.start()
        self.load()
        self.stop_faults.set()
        self.faults_thread.join()
        for node in self.nodes:  # whatever the last fault left down comes back
            if not node.alive():
                node.start()
        final = self.settle()
        rows, problems, reruns = self.reconcile(final)
        elapsed = time.monotonic() - self.started

        accepted = len(self.jobs)
        print(f"\nchaos: {self.args.jobs} submissions over {self.args.seconds} s to {self.args.nodes} nodes "
              f"({elapsed:.0f} s in all), seed {self.args.seed}; with {self.bursts} bursts' backlog, "
              f"{self.posted} jobs submitted")
        print(f"  {'accepted (202 with a job id)':<66} {accepted:>6}")
        print(f"  {'no reply to the submission (a node died under it; not counted)':<66} {self.unanswered:>6}")
        for what, count in sorted(self.refused.items()):
            print(f"  refused: {what[:57]:<57} {count:>6}")
        print("faults injected")
        for what, count in sorted(self.faults.items()):
            print(f"  {what:<66} {count:>6}")
        print("results of the accepted jobs")
        for what, count in sorted(rows.items()):
            print(f"  {what:<66} {count:>6}")
        print(f"  {'(of them run again after their worker died: attempt 2 or later)':<66} {reruns:>6}")
        bad = ["lost", "duplicated", "wrong", "changed", "without being asked", "cancelled while queued"]
        failures = sum(c for row, c in rows.items() if any(b in row for b in bad))
        print(f"  {'lost, duplicated, wrong or forbidden':<66} {failures:>6}")
        if accepted == 0:
            problems.append("no job was accepted")
        for what, count in self.refused.items():
            problems.append(f"{count} submissions refused: {what}")
        if self.unanswered > self.posted / 10:
            problems.append(f"{self.unanswered} of {self.posted} submissions got no answer")
        if self.bursts >= 5 and not rows["cancelled as asked (queued)"]:
            problems.append(f"no cancel found its job queued, in {self.bursts} bursts")
        if self.fault_error:
            problems.append(f"a fault could not be injected: {self.fault_error}")
        elif self.args.seconds >= 5 * self.args.fault_gap:
            for kind in ("node SIGKILL, restarted", "node SIGTERM (drain), restarted", "node SIGHUP (reload)",
                         "Redis restarted"):
                if not self.faults[kind]:
                    problems.append(f"never injected: {kind}")
        for p in problems[:20]:
            print("  ! " + p)
        return 1 if problems else 0

    def cleanup(self):
        # Drained, so that no box, cgroup or mount outlives the run; the
        # faults thread first, so that it starts nothing again.
        self.stop_faults.set()
        if self.faults_thread:
            self.faults_thread.join()
        for node in self.nodes:
            node.signal(signal.SIGTERM)
        for node in self.nodes:
            if node.proc:
                node.wait(60)
        self.redis.stop()
        if self.args.keep:
            print(f"chaos: logs kept in {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=300, help="submissions (default 300)")
    p.add_argument("--seconds", type=float, default=60, help="over how long they are spread (default 60)")
    p.add_argument("--nodes", type=int, default=2, help="execd nodes (default 2)")
    p.add_argument("--fault-gap", type=float, default=6, help="mean seconds between faults (default 6)")
    p.add_argument("--settle", type=float, default=180, help="seconds to wait for the last results (default 180)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    p.add_argument("--keep", action="store_true", help="keep the logs and Redis's files")
    args = p.parse_args()
    if args.seed is None:
        args.seed = int(time.time())
    if os.geteuid() != 0:
        sys.exit("chaos.py: needs root (the sandbox)")
    if not os.access(os.path.join(ROOT, "build/daemon/execd"), os.X_OK):
        sys.exit("chaos.py: build/daemon/execd not found (cmake -S . -B build && cmake --build build)")
    run = Run(args)
    try:
        code = run.go()
    finally:
        run.cleanup()
    sys.exit(code)


if __name__ == "__main__":
    main()
