"""A/B of two serac builds on SQLite, on this machine, with the bench's own seeding and wrk runs.

    BENCH_OUT=/tmp/serac-bench python3 bench/ab.py OLD_BIN NEW_BIN load-table,head-table [PAIRS]

Both servers are started (server on CPU 1, wrk on CPU 0, as in bench.py) and seeded alike, then
each workload runs AB_SECONDS (default 3) against one and then the other, the order swapped every
pair, PAIRS times (default 8). Prints, per workload and build, the median throughput and p99 and
every run. Run-to-run spread on a shared VM is large (a quarter or more); alternating short runs
lets drift hit both builds alike. Needs wrk built by `make bench` (bench/run.sh) once.
"""

import os
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402


class Build(B.Serac):
    def __init__(self, workdir, binary, name):
        super().__init__(workdir)
        self.binary = binary
        self.name = name

    def argv(self):
        return [self.binary] + super().argv()[1:]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    builds = {"A": sys.argv[1], "B": sys.argv[2]}
    wanted = sys.argv[3].split(",")
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    seconds = int(os.environ.get("AB_SECONDS", "3"))
    workloads = {w[0]: w for w in B.WORKLOADS}
    for w in wanted:
        if w not in workloads or workloads[w][2] != "wrk":
            sys.exit(f"{w}: not a wrk workload of bench.py")
    servers, cats = {}, {}
    try:
        for k, binary in builds.items():
            srv = Build(os.path.join(B.OUT, f"ab-{k}"), binary, f"serac-{k}")
            shutil.rmtree(srv.workdir, ignore_errors=True)
            srv.start()
            servers[k] = srv
            cats[k] = B.seed(srv)
        runs = {(k, w): [] for k in builds for w in wanted}
        for i in range(pairs):
            for k in ("A", "B") if i % 2 == 0 else ("B", "A"):
                for w in wanted:
                    _, _, _, conns, key, extra = workloads[w]
                    pfile = B.write_paths(f"ab-{k}-{w}", cats[k].paths[key])
                    _, row = B.run_wrk_paths(servers[k], conns, seconds, pfile,
                                             extra.get("method", "GET"))
                    runs[(k, w)].append((row["per_sec"], row["p99_ms"]))
        for w in wanted:
            for k in builds:
                r = runs[(k, w)]
                print(f"{w} {k} ({builds[k]}): median {statistics.median(x[0] for x in r):,.0f}/s, "
                      f"p99 {statistics.median(x[1] for x in r):.2f} ms; runs "
                      + " ".join(f"{x[0]:.0f}/{x[1]:.2f}" for x in r), flush=True)
    finally:
        for srv in servers.values():
            srv.stop()


if __name__ == "__main__":
    main()
