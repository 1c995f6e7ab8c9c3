"""A repository rule that turns `pkg-config` output into cc_libraries.

`:lib` links what pkg-config lists, as it lists it (shared libraries).
`:lib_static` links the libraries named by `static_prefixes` from their
static archives (`lib<name>.a` where the compiler finds it, if it does),
in one group so that their order does not matter, and the rest as `:lib`.
"""

def _has_archive(ctx, archive):
    # Where the compiler would find it (pkg-config's libdir is not always
    # where Debian puts the archive: grpc++.pc says /usr/lib).
    result = ctx.execute(["cc", "-print-file-name=" + archive])
    found = result.stdout.strip()
    return result.return_code == 0 and found.startswith("/") and ctx.path(found).exists

def _pkg_config_impl(ctx):
    modules = ctx.attr.modules
    defines = []
    linkopts = []
    static_linkopts = []
    archives = []
    if modules:
        result = ctx.execute(["pkg-config", "--cflags", "--libs"] + modules)
        if result.return_code != 0:
            fail("pkg-config %s failed: %s" % (" ".join(modules), result.stderr))
        for flag in result.stdout.strip().split(" "):
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-l") or flag.startswith("-L") or flag.startswith("-Wl") or flag == "-pthread":
                linkopts.append(flag)
                name = flag[2:] if flag.startswith("-l") else ""
                archive = "lib%s.a" % name
                if name and [p for p in ctx.attr.static_prefixes if name.startswith(p)] and \
                   _has_archive(ctx, archive):
                    if ("-l:" + archive) not in archives:
                        archives.append("-l:" + archive)
                else:
                    static_linkopts.append(flag)
    linkopts += ctx.attr.extra_linkopts
    static_linkopts += ctx.attr.extra_linkopts
    if archives:
        static_linkopts = ["-Wl,--start-group"] + archives + ["-Wl,--end-group"] + static_linkopts
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

cc_library(
    name = "lib",
    defines = {defines},
    linkopts = {linkopts},
)

cc_library(
    name = "lib_static",
    defines = {defines},
    linkopts = {static_linkopts},
)
""".format(defines = repr(defines), linkopts = repr(linkopts), static_linkopts = repr(static_linkopts)))

pkg_config_library = repository_rule(
    implementation = _pkg_config_impl,
    attrs = {
        "modules": attr.string_list(),
        "extra_linkopts": attr.string_list(),
        # Libraries (by name prefix, e.g. "absl_") that :lib_static links
        # from their static archives.
        "static_prefixes": attr.string_list(),
    },
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
