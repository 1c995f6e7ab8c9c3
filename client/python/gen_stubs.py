#!/usr/bin/env python3
"""Generates the Python stubs of the AgLeaderCredentials API.

Writes, under --out:
  leaf/agleader/v1/agleader_credentials_pb2.py       messages
  leaf/agleader/v1/agleader_credentials_pb2_grpc.py  the service stub
  google/rpc/{status,error_details,code}_pb2.py      to decode error details

Uses grpc_tools.protoc when it is installed (pip's grpcio-tools, Debian's
python3-grpc-tools), else the system protoc with grpc_python_plugin (Debian:
protobuf-compiler + protobuf-compiler-grpc). google/protobuf/*.proto are not
generated: their modules come with the protobuf runtime.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

SERVICE_PROTOS = ["leaf/agleader/v1/agleader_credentials.proto"]
RPC_PROTOS = [
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
    "google/rpc/code.proto",
]
# Where protoc finds google/protobuf/*.proto (Debian: libprotobuf-dev).
SYSTEM_INCLUDE = "/usr/include"


def _protoc_command():
    """Returns the argv prefix of a protoc that has the grpc_python plugin."""
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


def generate(out_dir, proto_root=None, rpc_root=None):
    """Generates every stub into out_dir (created if needed)."""
    proto_root = proto_root or os.path.join(REPO, "proto")
    rpc_root = rpc_root or os.path.join(REPO, "third_party", "googleapis")
    os.makedirs(out_dir, exist_ok=True)
    prefix, bundled = _protoc_command()
    includes = [f"-I{proto_root}", f"-I{rpc_root}"]
    if os.path.isdir(os.path.join(SYSTEM_INCLUDE, "google", "protobuf")):
        includes.append(f"-I{SYSTEM_INCLUDE}")
    elif bundled:
        # grpc_tools ships google/protobuf/*.proto inside its package.
        import grpc_tools  # pylint: disable=import-outside-toplevel

        includes.append("-I" + os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))
    subprocess.run(
        prefix
        + includes
        + [f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
        + [os.path.join(proto_root, p) for p in SERVICE_PROTOS],
        check=True,
    )
    subprocess.run(
        prefix
        + includes
        + [f"--python_out={out_dir}"]
        + [os.path.join(rpc_root, p) for p in RPC_PROTOS],
        check=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--proto_root", help="directory holding leaf/agleader/v1/*.proto")
    parser.add_argument("--rpc_root", help="directory holding google/rpc/*.proto")
    args = parser.parse_args()
    generate(args.out, args.proto_root, args.rpc_root)


if __name__ == "__main__":
    main()
