"""Checks the three-replica fleet example (deploy/k8s/fleet/, issue 21) against
the base manifests, the server binary and the private-network rules of
docs/operations.md: the overlay's patch applied to the base Deployment gives
three replicas in fleet mode whose flags the server knows, pointing at the
Redis Service with the password from a mounted Secret; Redis is reachable
only inside the cluster and only from the server's pods, keeps nothing on
disk and never has its password on a command line.

Run by fleet_deploy_test.sh with DEPLOY_DIR and SERVER_BIN, as deploy_test.py.
No kustomize here: the strategic-merge patch is applied by merge() below, the
way kustomize merges these fields (containers, volumes and volumeMounts by
name; other lists replaced).
"""

import copy
import os
import re
import subprocess
import unittest
from urllib.parse import urlsplit

import yaml

DEPLOY = os.environ.get("DEPLOY_DIR", "")
SERVER_BIN = os.environ.get("SERVER_BIN", "")
K8S = os.path.join(DEPLOY, "k8s")
FLEET = os.path.join(K8S, "fleet")
TEMPLATES = ("redis-secret.template.yaml",)


def load(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def merge(base, patch):
    """A strategic merge of `patch` into `base` for the fields used here."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if (
        isinstance(base, list)
        and isinstance(patch, list)
        and all(isinstance(x, dict) and "name" in x for x in base + patch)
    ):
        out = copy.deepcopy(base)
        for item in patch:
            names = [x["name"] for x in out]
            if item["name"] in names:
                i = names.index(item["name"])
                out[i] = merge(out[i], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def args_of(container):
    """{flag name: value} of a container's --name=value arguments."""
    out = {}
    for arg in container.get("args", []):
        name, _, value = arg.partition("=")
        out[name] = value
    return out


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class FleetOverlayTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not DEPLOY:
            raise unittest.SkipTest("DEPLOY_DIR is not set")
        cls.files = sorted(n for n in os.listdir(FLEET) if n.endswith(".yaml"))
        (cls.kustomization,) = load(FLEET, "kustomization.yaml")
        (cls.base_deployment,) = load(K8S, "deployment.yaml")
        (cls.base_hpa,) = load(K8S, "hpa.yaml")
        cls.base_services = load(K8S, "service.yaml")
        patch_paths = [p["path"] for p in cls.kustomization["patches"] if "path" in p]
        (patch,) = patch_paths
        (cls.patch,) = load(FLEET, patch)
        cls.deployment = merge(cls.base_deployment, cls.patch)
        cls.pod = cls.deployment["spec"]["template"]
        (cls.server,) = cls.pod["spec"]["containers"]
        cls.server_args = args_of(cls.server)
        redis_docs = load(FLEET, "redis.yaml")
        (cls.redis,) = [d for d in redis_docs if d["kind"] == "Deployment"]
        (cls.redis_service,) = [d for d in redis_docs if d["kind"] == "Service"]
        cls.redis_pod = cls.redis["spec"]["template"]
        (cls.redis_container,) = cls.redis_pod["spec"]["containers"]
        (cls.policy,) = load(FLEET, "network-policy.yaml")
        (cls.secret,) = load(FLEET, "redis-secret.template.yaml")

    def test_overlay_builds_on_the_base_and_lists_every_manifest_but_templates_and_patches(self):
        resources = self.kustomization["resources"]
        self.assertIn("..", resources)
        patches = {p["path"] for p in self.kustomization["patches"] if "path" in p}
        expected = sorted(
            n for n in self.files if n not in TEMPLATES + ("kustomization.yaml",) + tuple(patches)
        )
        self.assertEqual(sorted(r for r in resources if r != ".."), expected)
        for name in self.files:
            for doc in load(FLEET, name):
                self.assertIn("kind", doc, name)
                if doc["kind"] != "Kustomization":
                    self.assertTrue(doc["metadata"]["name"], name)

    def test_three_replicas_the_autoscaler_removed_and_the_hint_matching(self):
        (replicas,) = self.kustomization["replicas"]
        self.assertEqual(replicas["name"], self.base_deployment["metadata"]["name"])
        self.assertEqual(replicas["count"], 3)
        # The base's HPA would change the count the hint is tied to.
        (delete,) = [p for p in self.kustomization["patches"] if "target" in p]
        self.assertEqual(delete["target"]["kind"], "HorizontalPodAutoscaler")
        self.assertEqual(delete["target"]["name"], self.base_hpa["metadata"]["name"])
        self.assertEqual(yaml.safe_load(delete["patch"])["$patch"], "delete")
        self.assertEqual(self.server_args["--fleet_size_hint"], str(replicas["count"]))

    def test_server_keeps_the_base_flags_and_every_flag_is_known_to_the_server(self):
        (base_container,) = self.base_deployment["spec"]["template"]["spec"]["containers"]
        for arg in base_container["args"]:
            self.assertIn(arg, self.server["args"], "the patch's args replace the base's")
        if not SERVER_BIN:
            self.skipTest("SERVER_BIN is not set")
        help_text = subprocess.run(
            [SERVER_BIN, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        known = set(re.findall(r"env (AGLEADER_[A-Z_]+)", help_text.stdout + help_text.stderr))
        for flag in self.server_args:
            self.assertIn(f"AGLEADER_{flag[2:].upper()}", known, flag)

    def test_redis_url_names_the_redis_service_and_holds_no_password(self):
        url = urlsplit(self.server_args["--redis_url"])
        self.assertEqual(url.scheme, "redis")
        self.assertIsNone(url.password)
        self.assertIsNone(url.username)
        self.assertEqual(url.hostname, self.redis_service["metadata"]["name"])
        (port,) = self.redis_service["spec"]["ports"]
        self.assertEqual(url.port, port["port"])
        self.assertNotIn("--redis_password", self.server_args)  # only the file

    def test_both_sides_read_the_password_from_the_same_secret_key(self):
        keys = set(self.secret.get("stringData", {}))
        self.assertNotIn("data", self.secret)
        for key, value in self.secret["stringData"].items():
            self.assertEqual(value, "", f"{key} has a value in the template")

        def mounted_file(pod, container, path):
            """(secret name, key) of the Secret file at `path` in `container`."""
            directory, filename = os.path.split(path)
            (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == directory]
            self.assertTrue(mount.get("readOnly"), path)
            (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == mount["name"]]
            (item,) = [i for i in volume["secret"]["items"] if i["path"] == filename]
            return volume["secret"]["secretName"], item["key"]

        server_side = mounted_file(self.pod, self.server, self.server_args["--redis_password_file"])
        redis_file = re.search(r"\$\(cat ([^)]+)\)", self.redis_container["args"][0]).group(1)
        redis_side = mounted_file(self.redis_pod, self.redis_container, redis_file)
        self.assertEqual(server_side, redis_side)
        self.assertEqual(server_side[0], self.secret["metadata"]["name"])
        self.assertIn(server_side[1], keys)
        # The non-root server reads the file through its group.
        (volume,) = [v for v in self.pod["spec"]["volumes"] if "secret" in v]
        self.assertEqual(self.pod["spec"]["securityContext"]["fsGroup"], 10001)
        self.assertEqual(volume["secret"]["defaultMode"] & 0o007, 0, "world-readable")

    def test_redis_service_stays_inside_the_cluster(self):
        spec = self.redis_service["spec"]
        self.assertEqual(spec.get("type", "ClusterIP"), "ClusterIP")
        self.assertNotEqual(spec.get("clusterIP"), "None")
        for field in ("externalIPs", "loadBalancerIP", "externalName"):
            self.assertNotIn(field, spec)
        for port in spec["ports"]:
            self.assertNotIn("nodePort", port)
        self.assertTrue(selects(spec["selector"], self.redis_pod["metadata"]["labels"]))
        (port,) = spec["ports"]
        (container_port,) = [
            p for p in self.redis_container["ports"] if p["name"] == port["targetPort"]
        ]
        self.assertEqual(container_port["containerPort"], 6379)

    def test_network_policy_admits_only_the_servers_pods_and_lets_redis_reach_nothing(self):
        spec = self.policy["spec"]
        self.assertTrue(
            selects(spec["podSelector"]["matchLabels"], self.redis_pod["metadata"]["labels"])
        )
        self.assertEqual(sorted(spec["policyTypes"]), ["Egress", "Ingress"])
        self.assertEqual(spec["egress"], [])
        (rule,) = spec["ingress"]
        (source,) = rule["from"]
        self.assertEqual(sorted(source), ["podSelector"], "no namespaceSelector, no ipBlock")
        self.assertEqual(
            source["podSelector"]["matchLabels"],
            self.base_deployment["spec"]["selector"]["matchLabels"],
        )
        self.assertEqual([p["port"] for p in rule["ports"]], [6379])

    def test_server_services_and_deployment_never_select_the_redis_pod(self):
        labels = self.redis_pod["metadata"]["labels"]
        for service in self.base_services:
            self.assertFalse(
                selects(service["spec"]["selector"], labels), service["metadata"]["name"]
            )
        self.assertFalse(selects(self.deployment["spec"]["selector"]["matchLabels"], labels))
        self.assertTrue(selects(self.redis["spec"]["selector"]["matchLabels"], labels))

    def test_redis_keeps_nothing_on_disk_and_its_password_off_command_lines(self):
        command = " ".join(self.redis_container["command"] + self.redis_container["args"])
        self.assertIn('--save ""', command)
        self.assertIn("--appendonly no", command)
        self.assertIn("--protected-mode yes", command)
        self.assertNotIn("0.0.0.0", command)
        self.assertRegex(command, r'--bind 127\.0\.0\.1 "\$\{POD_IP\}"')
        self.assertNotIn("--requirepass", command)  # would show in `ps`
        self.assertIn("requirepass", command)  # written to the config file instead
        probe = " ".join(self.redis_container["readinessProbe"]["exec"]["command"])
        self.assertIn("REDISCLI_AUTH=", probe)
        self.assertNotRegex(probe, r"redis-cli .*-a ")
        self.assertEqual(self.redis["spec"]["replicas"], 1)
        for volume in self.redis_pod["spec"]["volumes"]:
            self.assertNotIn("persistentVolumeClaim", volume)
            self.assertNotIn("hostPath", volume)

    def test_redis_runs_unprivileged_with_a_read_only_root(self):
        pod_ctx = self.redis_pod["spec"]["securityContext"]
        ctx = self.redis_container["securityContext"]
        self.assertTrue(pod_ctx["runAsNonRoot"])
        self.assertNotEqual(pod_ctx["runAsUser"], 0)
        self.assertFalse(ctx["allowPrivilegeEscalation"])
        self.assertTrue(ctx["readOnlyRootFilesystem"])
        self.assertEqual(ctx["capabilities"]["drop"], ["ALL"])
        self.assertFalse(self.redis_pod["spec"]["automountServiceAccountToken"])
        # Where it writes its config: memory, not the image.
        writable = {
            m["mountPath"] for m in self.redis_container["volumeMounts"] if not m.get("readOnly")
        }
        (run_dir,) = writable
        self.assertIn(f"--dir {run_dir}", " ".join(self.redis_container["args"]))
        self.assertIn("limits", self.redis_container["resources"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
