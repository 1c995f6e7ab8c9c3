"""Code generation with the system protoc and grpc_cpp_plugin.

The native proto_library/cc_proto_library rules pull @com_google_protobuf
from the internet, which is not reachable here.
"""

def cc_grpc_proto_library(name, srcs, proto_root = ".", grpc = True, deps = [], include_dirs = [], imports = [], **kwargs):
    """Generates C++ (and optionally gRPC) code for `srcs` and wraps it in a cc_library.

    Args:
      name: the cc_library name.
      srcs: .proto files, as labels relative to this package.
      proto_root: directory (relative to the workspace root, or absolute) that
        the import paths in `srcs` are relative to.
      grpc: whether to generate service stubs too.
      deps: cc_library dependencies (other generated libraries).
      include_dirs: extra -I directories for imports (absolute, or relative
        to the workspace root).
      imports: .proto files that `srcs` import, as labels; made visible to
        protoc (sandboxed actions see only declared inputs), not compiled.
      **kwargs: passed to the cc_library.
    """
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]

    pkg = native.package_name()
    rel_prefix = (pkg + "/") if pkg else ""
    includes = " ".join(["-I" + d for d in include_dirs])
    grpc_flags = "--plugin=protoc-gen-grpc=$(location @system_tools//:grpc_cpp_plugin) --grpc_out=$(GENDIR)/%s" % pkg if grpc else ""
    native.genrule(
        name = name + "_codegen",
        srcs = srcs + imports,
        outs = outs,
        tools = ["@system_tools//:protoc", "@system_tools//:grpc_cpp_plugin"],
        cmd = " ".join([
            "$(location @system_tools//:protoc)",
            "-I" + (pkg if pkg else "."),
            includes,
            "-I/usr/include",
            "--cpp_out=$(GENDIR)/%s" % pkg,
            grpc_flags,
        ] + ["%s" % (rel_prefix + s) for s in srcs]),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["//bazel:grpc"],
        **kwargs
    )
