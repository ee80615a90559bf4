"""Run the fake NetBox on its own: `python -m fakes.netbox --devices 5000 --ips 20000`.

Why: a bench measures the client honestly only when the fake does not share its process (and
its GIL) with it, and a developer can point a local bot at a realistic NetBox without one. It
prints one JSON line (`url`, `token`, `ca` when `--tls-dir` is given) and serves on 127.0.0.1
until interrupted or until its standard input closes (so a parent that dies takes it along).
Request counters: `GET /_fake/requests`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path

from fakes.netbox.dataset import generate_dataset
from fakes.netbox.server import FakeNetBox
from fakes.netbox.tls import make_certificates


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakes.netbox", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument("--ips", type=int, default=None, help="default: 2 per device")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--max-page-size", type=int, default=1000)
    parser.add_argument("--version", default="4.6.8", help="the NetBox version to act as")
    parser.add_argument("--contract", action="store_true", help="check traffic against the spec")
    parser.add_argument("--tls-dir", type=Path, help="serve HTTPS with a new CA written here")
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    data = generate_dataset(args.seed, sites=args.sites, devices=args.devices, ips=args.ips)
    certificates = make_certificates(args.tls_dir) if args.tls_dir else None
    netbox = FakeNetBox(
        data, latency=args.latency, max_page_size=args.max_page_size, version=args.version,
        tls=certificates.server_context() if certificates else None,
        contract_checks=args.contract,
    )  # fmt: skip
    async with netbox:
        ca = str(certificates.ca) if certificates else None
        print(json.dumps({"url": netbox.url, "token": netbox.token, "ca": ca}), flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our input
        for failure in netbox.failures:
            print(f"fake NetBox: {failure}", file=sys.stderr)
        netbox.failures.clear()


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(_arguments()))


if __name__ == "__main__":
    main()
