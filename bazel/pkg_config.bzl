"""A repository rule that turns `pkg-config` output into a cc_library."""

def _pkg_config_impl(ctx):
    modules = ctx.attr.modules
    defines = []
    linkopts = []
    if modules:
        result = ctx.execute(["pkg-config", "--cflags", "--libs"] + modules)
        if result.return_code != 0:
            fail("pkg-config %s failed: %s" % (" ".join(modules), result.stderr))
        for flag in result.stdout.strip().split(" "):
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-l") or flag.startswith("-L") or flag.startswith("-Wl") or flag == "-pthread":
                linkopts.append(flag)
    linkopts += ctx.attr.extra_linkopts
    ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % ctx.name)
    ctx.file("BUILD", """package(default_visibility = ["//visibility:public"])

cc_library(
    name = "lib",
    defines = {defines},
    linkopts = {linkopts},
)
""".format(defines = repr(defines), linkopts = repr(linkopts)))

pkg_config_library = repository_rule(
    implementation = _pkg_config_impl,
    attrs = {
        "modules": attr.string_list(),
        "extra_linkopts": attr.string_list(),
    },
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
