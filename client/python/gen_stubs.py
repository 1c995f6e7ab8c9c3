#!/usr/bin/env python3
"""Generates the Python stubs of the AgLeaderCredentials API into agleader_client/_gen.

Writes, flat, into --out (a package directory, e.g. build/lib/agleader_client/_gen):
  agleader_credentials_pb2.py       messages
  agleader_credentials_pb2_grpc.py  the service stub
  {status,error_details,code}_pb2.py  google.rpc, to decode error details

The .proto files are those bundled in the package (agleader_client/protos). The
stubs import each other relatively, so they live inside agleader_client and
never clash with another distribution's `leaf` or `google.rpc` modules.

Run by setup.py when the package is built (pip install ./client/python) and by
the Bazel genrule //client/python:stubs. Uses grpc_tools.protoc when installed
(pip's grpcio-tools), else the system protoc with grpc_python_plugin (Debian:
protobuf-compiler + protobuf-compiler-grpc). google/protobuf/*.proto are not
generated: their modules come with the protobuf runtime.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

PACKAGE_PROTOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agleader_client", "protos")

SERVICE_PROTOS = ["leaf/agleader/v1/agleader_credentials.proto"]
RPC_PROTOS = [
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
    "google/rpc/code.proto",
]
# Where protoc finds google/protobuf/*.proto (Debian: libprotobuf-dev).
SYSTEM_INCLUDE = "/usr/include"
# Absolute imports between generated modules, made relative to _gen.
_IMPORT = re.compile(r"^from (leaf\.agleader\.v1|google\.rpc) import (\w+_pb2)", re.MULTILINE)


def _protoc_command():
    """Returns the argv prefix of a protoc that has the grpc_python plugin, and
    whether it is grpc_tools' (which bundles google/protobuf/*.proto)."""
    try:
        import grpc_tools  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import

        return [sys.executable, "-m", "grpc_tools.protoc"], True
    except ImportError:
        pass
    protoc = shutil.which("protoc")
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    if protoc is None or not os.path.exists(plugin):
        raise RuntimeError(
            "need grpc_tools (pip install grpcio-tools) or protoc and grpc_python_plugin "
            "(apt-get install protobuf-compiler protobuf-compiler-grpc)"
        )
    return [protoc, f"--plugin=protoc-gen-grpc_python={plugin}"], False


def generate(out_dir, proto_root=PACKAGE_PROTOS):
    """Generates every stub into the package directory out_dir (created if needed)."""
    os.makedirs(out_dir, exist_ok=True)
    prefix, bundled = _protoc_command()
    includes = [f"-I{proto_root}"]
    if os.path.isdir(os.path.join(SYSTEM_INCLUDE, "google", "protobuf")):
        includes.append(f"-I{SYSTEM_INCLUDE}")
    elif bundled:
        import grpc_tools  # pylint: disable=import-outside-toplevel

        includes.append("-I" + os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))
    with tempfile.TemporaryDirectory() as tree:
        files = [os.path.join(proto_root, p) for p in SERVICE_PROTOS]
        subprocess.run(
            prefix + includes + [f"--python_out={tree}", f"--grpc_python_out={tree}"] + files,
            check=True,
        )
        files = [os.path.join(proto_root, p) for p in RPC_PROTOS]
        subprocess.run(prefix + includes + [f"--python_out={tree}"] + files, check=True)
        for root, _, names in os.walk(tree):
            for name in names:
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    code = _IMPORT.sub(r"from . import \2", f.read())
                with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
                    f.write(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output package directory")
    parser.add_argument(
        "--proto_root",
        default=PACKAGE_PROTOS,
        help="directory holding leaf/agleader/v1/*.proto and google/rpc/*.proto",
    )
    args = parser.parse_args()
    generate(args.out, args.proto_root)


if __name__ == "__main__":
    main()
