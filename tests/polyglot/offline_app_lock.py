"""Writes package.json and package-lock.json for an app that depends on the
packed Node client, so that `npm ci --offline` installs it with no registry
request: the client's own dependencies are resolved exactly as in
client/node/package-lock.json (whose tarballs `npm ci` in scripts/setup.sh put
in the npm cache), and the client itself from its tarball.

Usage: offline_app_lock.py CLIENT_LOCK CLIENT_PACKAGE_JSON TARBALL APP_DIR
"""

import base64
import hashlib
import json
import os
import sys


def main(client_lock, client_package, tarball, app_dir):
    with open(tarball, "rb") as f:
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(f.read()).digest()).decode()
    with open(client_lock) as f:
        lock = json.load(f)
    with open(client_package) as f:
        package = json.load(f)
    spec = "file:" + os.path.abspath(tarball)
    packages = {
        "": {"name": "app", "dependencies": {package["name"]: spec}},
        "node_modules/" + package["name"]: {
            "version": package["version"],
            "resolved": spec,
            "integrity": integrity,
            "dependencies": package["dependencies"],
            "bin": package.get("bin", {}),
        },
    }
    # Runtime dependencies only: the client's devDependencies are not installed.
    packages.update(
        {k: v for k, v in lock["packages"].items() if k and not v.get("dev")}
    )
    with open(os.path.join(app_dir, "package-lock.json"), "w") as f:
        json.dump({"name": "app", "lockfileVersion": 3, "requires": True,
                   "packages": packages}, f, indent=2)
    with open(os.path.join(app_dir, "package.json"), "w") as f:
        json.dump({"name": "app", "private": True,
                   "dependencies": {package["name"]: spec}}, f, indent=2)


if __name__ == "__main__":
    main(*sys.argv[1:5])
