"""A fake NetBox (read-only REST API) for pynetbox, checked against NetBox's OpenAPI description.

`server.FakeNetBox` serves a `dataset.Dataset` (made by `generate_dataset(seed, sites=...,
devices=..., ips=...)`) on 127.0.0.1, optionally over TLS (`tls.make_certificates` makes a
throw-away CA and server certificate); `contract` checks every request and answer against
`../shared/specs/netbox-openapi.json` (skipped, with `SKIP_REASON`, where it is absent).
`python -m fakes.netbox` runs one on its own (benches, a local bot).
"""

from fakes.netbox.contract import CONTRACT_CHECKING, SKIP_REASON
from fakes.netbox.dataset import HOSTILE, Dataset, generate_dataset
from fakes.netbox.server import FakeNetBox
from fakes.netbox.tls import Certificates, make_certificates

__all__ = ["CONTRACT_CHECKING", "HOSTILE", "SKIP_REASON", "Certificates", "Dataset", "FakeNetBox",
           "generate_dataset", "make_certificates"]  # fmt: skip
