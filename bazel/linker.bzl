"""Whether the machine has lld, which links the server with its hot code first.

`system_linker` writes `@system_linker//:defs.bzl` with `HOT_TEXT_LINKOPTS`:
lld's flags to place server/hot_text.order's functions first in .text
(docs/performance.md, "Memory"), or nothing when ld.lld is not installed, so
that the service still builds with the toolchain's linker (and
//tests/server:hot_text_order_test says what was lost). scripts/setup.sh
installs Debian's lld; after installing it by hand, run
`bazel sync --configure`.
"""

def _system_linker_impl(ctx):
    lld = ctx.which("ld.lld")
    if lld == None:
        # buildifier: disable=print
        print("ld.lld not found: //server:agleader_credentials_server is linked without " +
              "its hot-code ordering (about 2.5 MB more RSS); run `bash scripts/setup.sh`, " +
              "then `bazel sync --configure`")
        opts = []
    else:
        opts = [
            "-fuse-ld=lld",
            "-Wl,--symbol-ordering-file=$(location hot_text.order)",
            # Names the list holds that this build lacks (another -c mode,
            # changed code) are expected; //tests/server:hot_text_order_test
            # counts them.
            "-Wl,--no-warn-symbol-ordering",
        ]
    ctx.file("BUILD", "")
    ctx.file("defs.bzl", "# Written by //bazel:linker.bzl.\nHOT_TEXT_LINKOPTS = {}\n".format(repr(opts)))

system_linker = repository_rule(
    implementation = _system_linker_impl,
    local = True,
    configure = True,
)
