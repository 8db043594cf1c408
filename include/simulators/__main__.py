"""Run the simulators in one process: ``python -m include.simulators [options]``.

Prints ``READY <name> <url>`` per simulator, then ``ALL READY``, and serves until SIGINT or
SIGTERM (or until stdin closes, with ``--exit-on-stdin-close``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import signal
import sys
import threading
import time

import uvicorn

from include.simulators import REGISTRY

STARTUP_TIMEOUT = 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m include.simulators", description=__doc__)
    parser.add_argument("--only", help="comma-separated simulator names (default: all available)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", nargs="+", action="extend", default=[], metavar="NAME=PORT")
    parser.add_argument("--seed", choices=["demo", "empty"], default="demo")
    parser.add_argument("--exit-on-stdin-close", action="store_true")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> dict[str, tuple[str, int]]:
    """Name -> (module, port) of the simulators to start."""
    ports = dict(item.split("=", 1) for item in args.port)
    names = args.only.split(",") if args.only else list(REGISTRY)
    unknown = (set(names) | set(ports)) - set(REGISTRY)
    if unknown:
        sys.exit(f"unknown simulator(s): {', '.join(sorted(unknown))}")
    chosen = {}
    for name in names:
        module, port = REGISTRY[name]
        if importlib.util.find_spec(module) is None:
            if args.only:
                sys.exit(f"simulator {name} is not implemented ({module} missing)")
            continue
        chosen[name] = (module, int(ports.get(name, port)))
    return chosen


def start(name: str, module: str, host: str, port: int, seed: bool) -> tuple[uvicorn.Server, threading.Thread]:
    """Create, optionally seed, and serve one simulator in a daemon thread."""
    simulator = importlib.import_module(module)
    app = simulator.create_app()
    if seed:
        app.sim.seed(simulator.DEMO_SEED)
        app.sim.seed(getattr(simulator, "DEMO_DOCUMENTS", {}))  # documents to move, where the demo has some
    # no access log: the simulator keeps its own request log (/_sim/requests), and volume runs share the CPU
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"sim-{name}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sys.exit(f"simulator {name} failed to start on {host}:{port}")
        time.sleep(0.02)
    return server, thread


def wait_for_stop(exit_on_stdin_close: bool) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if exit_on_stdin_close:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    servers = []
    for name, (module, port) in selected(args).items():
        servers.append(start(name, module, args.host, port, args.seed == "demo"))
        print(f"READY {name} http://{args.host}:{port}", flush=True)
    print("ALL READY", flush=True)
    wait_for_stop(args.exit_on_stdin_close)
    for server, _ in servers:
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=5)


if __name__ == "__main__":
    main()
