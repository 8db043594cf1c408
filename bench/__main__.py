"""erpbridge benchmarks (issue 7, Performance): figures, never pass/fail.

    python -m bench                      # quick run of every benchmark (small sizes)
    python -m bench --full               # the sizes the goals are stated for
    python -m bench p1 --customers 20000 # one benchmark
    python -m bench p3 p4 --records 100000
    python -m bench p6 --full --local-executor  # P6 as 10 companies' DAGs on Airflow's LocalExecutor

Each run starts its own embedded PostgreSQL (temp dir) and the simulators on free ports. The
Severa simulator's rate limit is raised (rate_limit_per_second=100000) and so is our Severa hook's
(connection extra rate_per_second, --severa-rate, default 1000/s) for volume runs: at the vendor's
~10 req/s the reads alone would pace the runs. Figures also go to bench/results/last.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.env import FAST_HOOK_RATE, RESULTS, World, cores, setup_airflow_env

QUICK = {"customers": 5000, "changed": 50, "p2_customers": 2000, "records": 20000, "p4_mode": "synthetic",
         "p6_customers": 200, "p6_rounds": 1}
FULL = {"customers": 20000, "changed": 50, "p2_customers": 5000, "records": 100000, "p4_mode": "synthetic",
        "p6_customers": 2000, "p6_rounds": 2}
ALL = ["p1", "p2", "p3", "p4", "p5", "p6"]


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", nargs="*", choices=[*ALL, []], metavar="p1..p6",
                        help="benchmarks to run (default: all)")
    parser.add_argument("--full", action="store_true",
                        help="goal sizes: P1 20,000 customers, P4 100,000 records, P6 2,000 customers per company")
    parser.add_argument("--customers", type=int, help="P1: customers in Severa (quick 5,000; full 20,000)")
    parser.add_argument("--changed", type=int, help="P1: customers changed before the incremental run (50)")
    parser.add_argument("--p2-customers", type=int, help="P2: customers in the full sync (quick 2,000; full 5,000)")
    parser.add_argument("--no-profile", action="store_true", help="P2: skip the pyinstrument pass")
    parser.add_argument("--records", type=int, help="P4: records through one sync (quick 20,000; full 100,000)")
    parser.add_argument("--p4-mode", choices=["synthetic", "wire"],
                        help="P4: synthetic = real engine, mapping and ledger over an in-process source/target "
                             "(default; the simulators are quadratic in register size); wire = real hooks + simulators")
    parser.add_argument("--severa-rate", type=float, default=FAST_HOOK_RATE,
                        help="our Severa hook's rate_per_second for the runs (product default 9)")
    parser.add_argument("--p3-repeats", type=int, default=3, help="P3: fresh subprocesses per figure (median)")
    parser.add_argument("--p5-timeout", type=float, default=600, help="P5: give up after this many seconds")
    parser.add_argument("--p6-companies", type=int, default=10, help="P6: companies running at once (10)")
    parser.add_argument("--p6-customers", type=int, help="P6: Severa customers per company (quick 200; full 2,000)")
    parser.add_argument("--local-executor", action="store_true",
                        help="P6: run the companies' DAGs on Airflow's LocalExecutor (api-server, scheduler, "
                             "dag-processor) instead of a process per company running the sync")
    parser.add_argument("--p6-rounds", type=int, help="P6 --local-executor: measurements of all vs one (quick 1; "
                                                       "full 2)")
    args = parser.parse_args(argv)
    sizes = FULL if args.full else QUICK
    for key, value in sizes.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.which = args.which or ALL
    return args


def main(argv=None) -> int:
    args = parse(argv)
    home = setup_airflow_env()
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(f"erpbridge bench: {', '.join(args.which)} ({cores()}, python {sys.version.split()[0]})", flush=True)
    results: dict = {"cores": __import__("os").cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    world = World(home)
    try:
        if "p3" in args.which:
            from bench.parse import p3

            results["p3"] = p3(args.p3_repeats)
        needs_pg = any(p in args.which for p in ("p1", "p2", "p4", "p5", "p6"))
        needs_sims = any(p in args.which for p in ("p1", "p2", "p5")) or (
            "p4" in args.which and args.p4_mode == "wire")
        if needs_pg:
            world.start_postgres()
        if needs_sims:
            world.start_simulators()
        if "p1" in args.which:
            from bench.registers import p1

            results["p1"] = p1(world, args.customers, args.changed, args.severa_rate)
        if "p2" in args.which:
            from bench.registers import p2

            results["p2"] = p2(world, args.p2_customers, args.severa_rate, profile=not args.no_profile)
        if "p4" in args.which:
            from bench.registers import p4

            results["p4"] = p4(world, args.records, args.p4_mode, args.severa_rate)
        if "p5" in args.which:
            from bench.scheduler import p5

            results["p5"] = p5(world, args.p5_timeout)
        if "p6" in args.which and args.local_executor:
            from bench.companies import parse_times
            from bench.companies_airflow import p6_local

            results["p6"] = p6_local(world, args.p6_companies, args.p6_customers, args.p6_rounds)
            results["p6"]["parse"] = parse_times(world.home)
        elif "p6" in args.which:
            from bench.companies import p6

            results["p6"] = p6(world, args.p6_companies, args.p6_customers)
    finally:
        world.stop()
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "last.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"figures written to {RESULTS / 'last.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
