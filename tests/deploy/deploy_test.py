"""Checks the deployment files (deploy/) against each other, the server binary
and the client's service config: they parse, and the ports, probes, labels,
secrets, user, command line and runtime libraries line up.

Run by deploy_test.sh with DEPLOY_DIR (the deploy/ folder), SERVER_BIN (the
server binary) and CLIENT_SERVICE_CONFIG (client/service_config.json).
"""

import json
import os
import re
import shlex
import subprocess
import unittest

import yaml

DEPLOY = os.environ.get("DEPLOY_DIR", "")
SERVER_BIN = os.environ.get("SERVER_BIN", "")
CLIENT_SERVICE_CONFIG = os.environ.get("CLIENT_SERVICE_CONFIG", "")
K8S = os.path.join(DEPLOY, "k8s")
PORT = 50051
SECRET_TEMPLATE = "secret.template.yaml"


def load_manifests():
    """{file name: [documents]} for every YAML file in deploy/k8s."""
    out = {}
    for name in sorted(os.listdir(K8S)):
        if name.endswith(".yaml"):
            with open(os.path.join(K8S, name), encoding="utf-8") as f:
                out[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def by_kind(manifests, kind):
    return [d for docs in manifests.values() for d in docs if d.get("kind") == kind]


def dockerfile_instructions():
    """[(INSTRUCTION, argument)] of deploy/Dockerfile, continuation lines joined."""
    with open(os.path.join(DEPLOY, "Dockerfile"), encoding="utf-8") as f:
        text = f.read()
    lines, current = [], ""
    for raw in text.splitlines():
        if not current and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        current += raw.rstrip("\\").rstrip() + " " if raw.endswith("\\") else raw
        if not raw.endswith("\\"):
            lines.append(current.strip())
            current = ""
    out = []
    for line in lines:
        instruction, _, argument = line.partition(" ")
        out.append((instruction.upper(), argument.strip()))
    return out


def final_stage(instructions):
    last_from = max(i for i, (ins, _) in enumerate(instructions) if ins == "FROM")
    return instructions[last_from:]


class ManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not DEPLOY:
            raise unittest.SkipTest("DEPLOY_DIR is not set")
        cls.manifests = load_manifests()
        (cls.deployment,) = by_kind(cls.manifests, "Deployment")
        cls.pod = cls.deployment["spec"]["template"]
        (cls.container,) = cls.pod["spec"]["containers"]
        (cls.secret,) = by_kind(cls.manifests, "Secret")

    def container_port(self, name_or_number):
        for port in self.container["ports"]:
            if name_or_number in (port.get("name"), port["containerPort"]):
                return port["containerPort"]
        self.fail(f"no container port {name_or_number!r}")
        return None

    def assert_selects_pods(self, selector, what):
        labels = self.pod["metadata"]["labels"]
        self.assertTrue(selector, f"{what} has an empty selector")
        for key, value in selector.items():
            self.assertEqual(labels.get(key), value, f"{what} selector {key}={value}")

    def test_every_manifest_parses_and_names_its_object(self):
        self.assertGreaterEqual(len(self.manifests), 6, sorted(self.manifests))
        for name, docs in self.manifests.items():
            self.assertTrue(docs, f"{name} is empty")
            for doc in docs:
                for field in ("apiVersion", "kind"):
                    self.assertIn(field, doc, name)
                if doc["kind"] != "Kustomization":
                    self.assertTrue(doc["metadata"]["name"], name)

    def test_kustomization_lists_every_manifest_but_the_secret_template(self):
        (kustomization,) = by_kind(self.manifests, "Kustomization")
        expected = sorted(
            n for n in self.manifests if n not in (SECRET_TEMPLATE, "kustomization.yaml")
        )
        self.assertEqual(sorted(kustomization["resources"]), expected)

    def test_server_listens_on_the_container_port_on_all_interfaces(self):
        self.assertEqual(self.container_port("grpc"), PORT)
        self.assertIn(f"--listen=0.0.0.0:{PORT}", self.container.get("args", []))

    def test_probes_are_grpc_health_checks_on_the_container_port(self):
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            self.assertIn(probe, self.container)
            spec = self.container[probe]
            self.assertEqual(
                sorted(k for k in ("grpc", "httpGet", "tcpSocket", "exec") if k in spec),
                ["grpc"],
                probe,
            )
            self.assertEqual(spec["grpc"]["port"], self.container_port("grpc"), probe)
            self.assertEqual(spec["grpc"].get("service", ""), "", probe)

    def test_services_target_the_container_port_and_select_the_pods(self):
        services = {s["metadata"]["name"]: s for s in by_kind(self.manifests, "Service")}
        self.assertEqual(
            sorted(services), ["agleader-credentials", "agleader-credentials-headless"]
        )
        self.assertEqual(services["agleader-credentials-headless"]["spec"]["clusterIP"], "None")
        self.assertNotEqual(services["agleader-credentials"]["spec"].get("clusterIP"), "None")
        for name, service in services.items():
            self.assert_selects_pods(service["spec"]["selector"], name)
            (port,) = service["spec"]["ports"]
            self.assertEqual(port["port"], PORT, name)
            self.assertEqual(self.container_port(port["targetPort"]), PORT, name)

    def test_secret_keys_referenced_by_the_deployment_exist_in_the_template(self):
        refs = [
            e["valueFrom"]["secretKeyRef"]
            for e in self.container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        ]
        self.assertGreaterEqual(len(refs), 4)
        keys = set(self.secret.get("stringData", {})) | set(self.secret.get("data", {}))
        for ref in refs:
            self.assertEqual(ref["name"], self.secret["metadata"]["name"])
            self.assertIn(ref["key"], keys)
        referenced = {ref["key"] for ref in refs}
        self.assertEqual(keys - referenced, set(), "template keys nothing uses")

    def test_secret_template_holds_no_values(self):
        self.assertNotIn("data", self.secret)
        for key, value in self.secret["stringData"].items():
            self.assertEqual(value, "", f"{key} has a value in the template")

    def test_leaf_credentials_and_page_token_key_come_from_the_secret(self):
        env = {e["name"]: e for e in self.container["env"]}
        for name in (
            "AGLEADER_LEAF_TOKEN",
            "AGLEADER_LEAF_USERNAME",
            "AGLEADER_LEAF_PASSWORD",
            "AGLEADER_PAGE_TOKEN_KEY",
        ):
            self.assertIn("secretKeyRef", env[name].get("valueFrom", {}), name)
            self.assertNotIn("value", env[name], name)
        # Replicas must share the page-token key: it cannot be optional.
        self.assertFalse(
            env["AGLEADER_PAGE_TOKEN_KEY"]["valueFrom"]["secretKeyRef"].get("optional", False)
        )

    def test_environment_variables_are_flags_the_server_knows(self):
        if not SERVER_BIN:
            self.skipTest("SERVER_BIN is not set")
        help_text = subprocess.run(
            [SERVER_BIN, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        known = set(re.findall(r"env (AGLEADER_[A-Z_]+)", help_text.stdout + help_text.stderr))
        self.assertIn("AGLEADER_LISTEN", known)
        for e in self.container["env"]:
            self.assertIn(e["name"], known)
        for arg in self.container.get("args", []):
            flag = arg.split("=", 1)[0]
            self.assertIn(f"AGLEADER_{flag[2:].upper()}", known, arg)

    def test_hpa_scales_the_deployment_on_cpu_it_requests(self):
        (hpa,) = by_kind(self.manifests, "HorizontalPodAutoscaler")
        target = hpa["spec"]["scaleTargetRef"]
        self.assertEqual(
            (target["apiVersion"], target["kind"], target["name"]),
            ("apps/v1", "Deployment", self.deployment["metadata"]["name"]),
        )
        (metric,) = hpa["spec"]["metrics"]
        self.assertEqual(metric["resource"]["name"], "cpu")
        self.assertIn("cpu", self.container["resources"]["requests"])  # Utilization needs it
        self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2)
        self.assertNotIn("replicas", self.deployment["spec"])  # the HPA owns the count

    def test_pdb_selects_the_deployments_pods_and_allows_a_drain(self):
        (pdb,) = by_kind(self.manifests, "PodDisruptionBudget")
        selector = pdb["spec"]["selector"]["matchLabels"]
        self.assert_selects_pods(selector, "PodDisruptionBudget")
        self.assertEqual(selector, self.deployment["spec"]["selector"]["matchLabels"])
        (hpa,) = by_kind(self.manifests, "HorizontalPodAutoscaler")
        self.assertLess(pdb["spec"]["maxUnavailable"], hpa["spec"]["minReplicas"])

    def test_deployment_selector_matches_its_pod_labels(self):
        self.assert_selects_pods(self.deployment["spec"]["selector"]["matchLabels"], "Deployment")

    def test_container_runs_unprivileged_as_the_images_user(self):
        pod_ctx = self.pod["spec"]["securityContext"]
        ctx = self.container["securityContext"]
        self.assertTrue(pod_ctx["runAsNonRoot"])
        self.assertFalse(ctx["allowPrivilegeEscalation"])
        self.assertTrue(ctx["readOnlyRootFilesystem"])
        self.assertEqual(ctx["capabilities"]["drop"], ["ALL"])
        users = [arg for ins, arg in final_stage(dockerfile_instructions()) if ins == "USER"]
        self.assertEqual(users[-1].split(":")[0], str(pod_ctx["runAsUser"]))

    def test_termination_grace_outlasts_prestop_and_shutdown_grace(self):
        pre_stop = self.container["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(pre_stop[0], "/bin/sleep")
        shutdown_grace = 10  # the server's --shutdown_grace default, in seconds
        self.assertGreater(
            self.pod["spec"]["terminationGracePeriodSeconds"], int(pre_stop[1]) + shutdown_grace
        )


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not DEPLOY:
            raise unittest.SkipTest("DEPLOY_DIR is not set")
        cls.instructions = dockerfile_instructions()
        cls.final = final_stage(cls.instructions)

    def test_is_multi_stage_from_debian_12(self):
        froms = [arg for ins, arg in self.instructions if ins == "FROM"]
        self.assertEqual(len(froms), 2, froms)
        self.assertEqual(froms[0], "debian:12 AS builder")
        self.assertEqual(froms[1], "debian:12-slim")

    def test_builder_uses_setup_script_and_bazel_opt_build_of_the_server(self):
        runs = " ".join(arg for ins, arg in self.instructions if ins == "RUN")
        self.assertIn("bash scripts/setup.sh", runs)
        self.assertRegex(runs, r"bazel .*build -c opt .*//server:agleader_credentials_server")
        copies = [arg for ins, arg in self.final if ins == "COPY"]
        self.assertEqual(
            copies,
            [
                "--from=builder /out/agleader_credentials_server "
                "/usr/local/bin/agleader_credentials_server"
            ],
        )

    def test_entrypoint_and_cmd_run_the_server_on_all_interfaces(self):
        entrypoint = [json.loads(a) for i, a in self.final if i == "ENTRYPOINT"][-1]
        cmd = [json.loads(a) for i, a in self.final if i == "CMD"][-1]
        self.assertEqual(entrypoint, ["/usr/local/bin/agleader_credentials_server"])
        self.assertEqual(cmd, [f"--listen=0.0.0.0:{PORT}"])
        self.assertIn(str(PORT), [a for i, a in self.final if i == "EXPOSE"])

    def test_runs_as_a_non_root_user(self):
        users = [a for i, a in self.final if i == "USER"]
        self.assertTrue(users)
        self.assertNotIn(users[-1].split(":")[0], ("0", "root"))

    def test_runtime_packages_cover_every_library_the_server_links(self):
        if not SERVER_BIN:
            self.skipTest("SERVER_BIN is not set")
        readelf = subprocess.run(
            ["readelf", "-d", SERVER_BIN], capture_output=True, text=True, timeout=30, check=True
        )
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", readelf.stdout)
        self.assertGreater(len(needed), 5)
        runs = " ".join(a for i, a in self.final if i == "RUN")
        install = re.search(r"apt-get install (.*?)(&&|$)", runs).group(1)
        packages = {w for w in shlex.split(install) if not w.startswith("-")}
        owners = self._owners(needed)
        missing = {lib: owners.get(lib) for lib in needed if owners.get(lib) not in packages}
        self.assertEqual(missing, {}, "add these packages to the runtime stage")
        self.assertIn("ca-certificates", packages)  # to verify Leaf's certificate
        if os.environ.get("GRPC_LINK") == "shared":
            return  # a sanitizer build: gRPC is linked shared there, not as the image has it
        # And nothing more: gRPC, protobuf and abseil are linked into the
        # binary (//bazel:grpc), so their packages would only add weight.
        unneeded = packages - set(owners.values()) - {"ca-certificates"}
        self.assertEqual(unneeded, set(), "no library the server links comes from these packages")
        statically_linked = [
            lib for lib in needed if re.match(r"lib(grpc|gpr|absl|protobuf|upb|re2|cares)", lib)
        ]
        self.assertEqual(statically_linked, [], "gRPC, protobuf and abseil must be linked in")

    @staticmethod
    def _owners(libs):
        """{library: the Debian package that ships it}, in one dpkg -S call."""
        paths = {}
        for lib in libs:
            for directory in (
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib",
            ):
                path = os.path.join(directory, lib)
                if os.path.exists(path):
                    paths[lib] = {path, os.path.realpath(path)}
                    break
        queried = sorted(set().union(*paths.values())) if paths else []
        found = subprocess.run(
            ["dpkg", "-S", *queried], capture_output=True, text=True, timeout=60, check=False
        )
        owner_of_path = {}
        for line in found.stdout.splitlines():  # "pkg[:arch]: /path"
            package, _, path = line.partition(": ")
            owner_of_path[path.strip()] = package.split(":")[0]
        out = {}
        for lib, candidates in paths.items():
            for path in candidates:
                if path in owner_of_path:
                    out[lib] = owner_of_path[path]
        return out

    def test_dockerignore_keeps_bulk_and_history_out_of_the_context(self):
        with open(os.path.join(DEPLOY, "Dockerfile.dockerignore"), encoding="utf-8") as f:
            patterns = {line.strip() for line in f if line.strip() and not line.startswith("#")}
        self.assertLessEqual({".git", "**/node_modules", "bazel-*"}, patterns)


class ClientLoadBalancingTest(unittest.TestCase):
    def test_client_config_is_round_robin_with_the_shipped_method_config(self):
        with open(os.path.join(DEPLOY, "client-service-config.json"), encoding="utf-8") as f:
            config = json.load(f)
        self.assertEqual(config["loadBalancingConfig"], [{"round_robin": {}}])
        if not CLIENT_SERVICE_CONFIG or not os.path.exists(CLIENT_SERVICE_CONFIG):
            self.skipTest("client/service_config.json is not available")
        with open(CLIENT_SERVICE_CONFIG, encoding="utf-8") as f:
            shipped = json.load(f)
        self.assertEqual(config["methodConfig"], shipped["methodConfig"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
