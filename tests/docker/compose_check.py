#!/usr/bin/python3
"""Checks a running compose stack of execd (tests/docker/compose_test.sh
starts it): containment holds in a dockerised worker, 40 jobs spread over
the workers, killing a worker container mid-job loses nothing, and the
workers' monitor addresses serve metrics that agree with their logs.

    compose_check.py --api http://127.0.0.1:PORT --project NAME [--docker /usr/bin/docker]

Which worker ran a job is read from the workers' logs ("job ID started on
NODE/N (attempt A)", "job ID completed VERDICT in N ms"): the job document
does not say. Every wait is bounded; exits 1 naming the first failure."""

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

JOBS = 40
SLEEP_S = 0.3  # each job's own time
LONG_S = 5.0  # the job the kill interrupts


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def say(message):
    print(f"compose_check: {message}", flush=True)


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def request(self, method, path, body=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def submit(self, job):
        status, text = self.request("POST", "/v1/jobs", job)
        check(status == 202, f"POST /v1/jobs answered {status}: {text}")
        return json.loads(text)["jobId"]

    def wait(self, job_id, seconds=60):
        """The job's document once it has finished (long-polls, bounded)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"job {job_id} did not finish within {seconds} s")
            wait_ms = int(min(left, 20) * 1000)
            status, text = self.request("GET", f"/v1/jobs/{job_id}?wait={wait_ms}", timeout=wait_ms / 1000 + 10)
            check(status == 200, f"GET /v1/jobs/{job_id} answered {status}: {text}")
            doc = json.loads(text)
            if doc["status"] in ("completed", "cancelled"):
                return doc

    def run(self, job, seconds=60):
        return self.wait(self.submit(job), seconds)


class Workers:
    def __init__(self, docker, project):
        self.docker = docker
        self.project = project

    def names(self):
        out = subprocess.run(
            [self.docker, "ps", "--filter", f"label=com.docker.compose.project={self.project}",
             "--filter", "label=com.docker.compose.service=worker", "--format", "{{.Names}}"],
            check=True, capture_output=True, text=True, timeout=30).stdout
        return sorted(out.split())

    def log(self, name):
        done = subprocess.run([self.docker, "logs", name], capture_output=True, text=True, timeout=30)
        check(done.returncode == 0, f"docker logs {name}: {done.stderr.strip()}")
        return done.stdout + done.stderr

    def address(self, name):
        out = subprocess.run(
            [self.docker, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name],
            check=True, capture_output=True, text=True, timeout=30).stdout.strip()
        check(out != "", f"worker {name} has no address")
        return out

    def kill(self, name):
        subprocess.run([self.docker, "kill", name], check=True, capture_output=True, timeout=30)


def started(log, job_id):
    """The attempts of `job_id` that this log shows started."""
    return [int(a) for a in re.findall(rf"job {job_id} started on \S+ \(attempt (\d+)\)", log)]


def completed(log, job_id):
    return len(re.findall(rf"job {job_id} completed ", log))


def check_containment(api, peers):
    """A few of the containment tests' ideas, against a dockerised worker."""
    # No network: not the containers the worker itself talks to, by name or
    # address, not even loopback.
    targets = [("redis", 6379), ("api", 3001), ("127.0.0.1", 6379)] + peers
    probe = (
        "import socket\n"
        "reached = []\n"
        f"for host, port in {targets!r}:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2).close()\n"
        "        reached.append(host)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('reached', reached, 'interfaces', open('/proc/net/dev').read().count(':'))\n")
    doc = api.run({"language": "python", "code": probe})
    check(doc.get("verdict") == "OK", f"the network probe did not run: {doc}")
    check(doc["output"] == "reached [] interfaces 1",
          f"a job in a dockerised worker reached the network: {doc['output']!r}")
    say(f"a job cannot reach the network ({', '.join(f'{h}:{p}' for h, p in targets)}; only lo, down)")

    # Its cgroup: no cgroup file system in the box, and none can be mounted.
    probe = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "wrote = []\n"
        "for path in ['/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/memory/memory.limit_in_bytes',\n"
        "             '/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/memory.max']:\n"
        "    try:\n"
        "        with open(path, 'w') as f: f.write('max')\n"
        "        wrote.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "mounted = [t for t in (b'cgroup2', b'cgroup') if libc.mount(t, b'/box', t, 0, None) == 0]\n"
        "print('wrote', wrote, 'mounted', mounted, 'uid', os.getuid())\n")
    doc = api.run({"language": "python", "code": probe})
    check(doc.get("verdict") == "OK", f"the cgroup probe did not run: {doc}")
    check(re.fullmatch(r"wrote \[\] mounted \[\] uid [1-9][0-9]*", doc["output"]) is not None,
          f"a job in a dockerised worker could write or mount a cgroup: {doc['output']!r}")
    say(f"a job cannot write or mount its cgroup, and is not root ({doc['output']})")

    # The memory limit: the box's memory cgroup, read from its OOM counter.
    doc = api.run({"language": "python", "memoryMb": 64,
                   "code": "chunks = []\nfor i in range(1024):\n    chunks.append(bytearray(1 << 20))\nprint('survived')\n"})
    check(doc.get("verdict") == "MemoryLimitExceeded", f"1 GiB under a 64 MB limit was not MemoryLimitExceeded: {doc}")
    say(f"1 GiB under a 64 MB limit is MemoryLimitExceeded ({doc['message']})")


def check_jobs_and_kill(api, workers):
    names = workers.names()
    check(len(names) == 4, f"expected 4 worker containers, found {names}")
    def job(n, seconds):
        code = f"import sys, time\ntime.sleep({seconds})\nprint(sys.stdin.read().strip())\n"
        return {"language": "python", "code": code, "stdin": f"job-{n}", "timeoutMs": 20000}

    # Job 0 is longer: the worker running it is killed while it runs.
    ids = [api.submit(job(0, LONG_S))] + [api.submit(job(n, SLEEP_S)) for n in range(1, JOBS)]
    say(f"{JOBS} jobs submitted")

    victim = None
    deadline = time.monotonic() + 60
    while victim is None:
        check(time.monotonic() < deadline, f"job {ids[0]} did not start on any worker within 60 s")
        for name in names:
            if 1 in started(workers.log(name), ids[0]):
                victim = name
                break
        else:
            time.sleep(0.1)
    time.sleep(1.0)  # the other jobs spread meanwhile; job 0 still has seconds to go
    workers.kill(victim)
    log = workers.log(victim)
    check(completed(log, ids[0]) == 0, f"job {ids[0]} finished on {victim} before the kill landed")
    in_flight = [i for i in ids if started(log, i) and not completed(log, i)]
    say(f"docker kill {victim} while it ran {len(in_flight)} job(s), among them job-0 ({ids[0]})")

    # Every job finishes, each with its own input: none lost. The killed
    # ones run again once their lease lapses.
    for n, job_id in enumerate(ids):
        doc = api.wait(job_id, seconds=120)
        check(doc.get("status") == "completed" and doc.get("verdict") == "OK",
              f"job-{n} ({job_id}) did not complete OK: {doc}")
        check(doc.get("output") == f"job-{n}", f"job-{n} ({job_id}) printed {doc.get('output')!r}")
    say(f"all {JOBS} jobs completed OK with their own output")

    # Who ran what, from every worker's log (the killed one's included):
    # each job's result was recorded exactly once (a second finisher records
    # nothing and logs no completion), and the interrupted jobs ran again.
    logs = {name: workers.log(name) for name in set(names) | set(workers.names())}
    ran_on = {}
    for n, job_id in enumerate(ids):
        finishers = [name for name, text in logs.items() for _ in range(completed(text, job_id))]
        check(len(finishers) == 1, f"job-{n} ({job_id}) was recorded {len(finishers)} times: {finishers}")
        ran_on[job_id] = finishers[0]
    for job_id in in_flight:
        attempts = [a for text in logs.values() for a in started(text, job_id)]
        check(max(attempts) >= 2, f"job {job_id}, interrupted by the kill, never ran again: {attempts}")
        check(ran_on[job_id] != victim or logs[victim].count(" workers started") > 1,
              f"job {job_id} was recorded by the killed worker {victim}")
    spread = {name: sum(1 for w in ran_on.values() if w == name) for name in sorted(logs)}
    say("jobs per worker: " + ", ".join(f"{name} {count}" for name, count in spread.items()))
    busy = [name for name, count in spread.items() if count > 0]
    check(len(busy) >= 3, f"the {JOBS} jobs did not spread over the workers: {spread}")
    say(f"the interrupted job(s) ran again elsewhere (attempt 2), each job recorded once")


def check_monitor(workers):
    """Each running worker serves /readyz and /metrics (and nothing else) on
    its monitor address, and the jobs its metrics count as completed are the
    ones its log says it completed."""
    from prometheus_client.parser import text_string_to_metric_families
    names = workers.names()
    check(len(names) >= 3, f"expected the 3 workers left after the kill, found {names}")
    for name in names:
        base = f"http://{workers.address(name)}:9101"
        monitor = Api(base)
        status, text = monitor.request("GET", "/readyz")
        check(status == 200, f"{name}: GET {base}/readyz answered {status}: {text}")
        status, text = monitor.request("GET", "/v1/jobs")
        check(status == 404, f"{name}: the monitor address answered GET /v1/jobs with {status}, not 404")
        status, text = monitor.request("GET", "/metrics")
        check(status == 200, f"{name}: GET {base}/metrics answered {status}")
        counted = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "execd_jobs_total":
                    counted[sample.labels["status"]] = counted.get(sample.labels["status"], 0) + sample.value
        logged = len(re.findall(r"job \S+ completed ", workers.log(name)))
        check(counted.get("completed", 0) == logged,
              f"{name}: /metrics counts {counted} jobs but its log shows {logged} completed")
        say(f"{name} serves /metrics on {base}: {int(counted.get('completed', 0))} jobs completed, as its log says")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--docker", default="/usr/bin/docker")
    parser.add_argument("--peer", action="append", default=[], metavar="ADDRESS:PORT",
                        help="another address a job must not reach (a container's)")
    args = parser.parse_args()
    api = Api(args.api)
    peers = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in args.peer]
    try:
        check_containment(api, peers)
        workers = Workers(args.docker, args.project)
        check_jobs_and_kill(api, workers)
        check_monitor(workers)
    except Failure as e:
        print(f"compose_check: FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
