"""`python -m webapp.wechat_sim [--host H] [--port P]`: the simulator alone."""

from __future__ import annotations

import argparse
import logging

from webapp.wechat_sim.serve import DEFAULT_HOST, DEFAULT_PORT, run_simulator


def main() -> None:
    """Parse the command line and run the simulator."""
    parser = argparse.ArgumentParser(prog="python -m webapp.wechat_sim", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_simulator(args.host, args.port)


if __name__ == "__main__":
    main()
