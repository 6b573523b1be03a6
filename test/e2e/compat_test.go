package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKubectlCompatibility drives every kubectl on the machine through the workflows users run,
// recording each command's requests (-v=8) and failing on any request klite does not serve.
func TestKubectlCompatibility(t *testing.T) {
	s := startServer(t, t.TempDir(), freePort(t))
	manifest, err := os.ReadFile("testdata/app.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range kubectlBinaries(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			k := &kubectlRun{t: t, s: s, bin: bin, ns: "compat-" + strings.ReplaceAll(filepath.Base(bin), ".", "-")}
			k.must("create", "namespace", k.ns)
			file := filepath.Join(t.TempDir(), "app.yaml")
			_ = os.WriteFile(file, manifest, 0o644)

			out := k.must("apply", "-f", file)
			for _, want := range []string{"configmap/app-config created", "secret/app-secret created", "serviceaccount/app created",
				"deployment.apps/web created", "service/web created", "service/web-headless created", "job.batch/migrate created",
				"cronjob.batch/nightly created", "statefulset.apps/db created", "daemonset.apps/agent created"} {
				if !strings.Contains(out, want) {
					t.Errorf("apply output lacks %q:\n%s", want, out)
				}
			}
			// As upstream: a Secret's stringData and a StatefulSet's volumeClaimTemplates (an atomic
			// list the server defaults) always make kubectl send a patch, so they read "configured".
			if out := k.must("apply", "-f", file); strings.Count(out, "unchanged") != 8 || !strings.Contains(out, "deployment.apps/web unchanged") {
				t.Errorf("re-apply should report 8 unchanged:\n%s", out)
			}
			generation := k.must("get", "statefulset", "db", "-o", "jsonpath={.metadata.generation}")
			k.must("apply", "-f", file)
			if again := k.must("get", "statefulset", "db", "-o", "jsonpath={.metadata.generation}"); again != generation {
				t.Errorf("re-applying an unchanged StatefulSet moved its generation %s -> %s", generation, again)
			}
			_ = os.WriteFile(file, []byte(strings.Replace(string(manifest), "mode: production", "mode: staging", 1)), 0o644)
			if out := k.must("apply", "-f", file); !strings.Contains(out, "configmap/app-config configured") || strings.Count(out, "unchanged") != 7 {
				t.Errorf("apply of an edited file:\n%s", out)
			}
			if out := k.must("diff", "-f", file); out != "" {
				t.Errorf("diff after apply is not empty:\n%s", out)
			}

			k.must("patch", "deployment", "web", "--type=json", `-p=[{"op":"replace","path":"/spec/replicas","value":3}]`)
			k.must("patch", "deployment", "web", "--type=merge", `-p={"metadata":{"annotations":{"team":"a"}}}`)
			k.must("patch", "deployment", "web", `-p={"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}`)
			if got := k.must("get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.annotations.team} {.spec.template.spec.containers[0].image}"); got != "3 a nginx:1.28" {
				t.Errorf("after the three patch types: %q", got)
			}
			k.must("set", "image", "deployment/web", "web=nginx:1.29")
			k.must("scale", "deployment", "web", "--replicas=5")
			k.must("label", "deployment", "web", "tier=frontend")
			k.must("annotate", "deployment", "web", "note=hello")
			if got := k.must("get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.labels.tier} {.spec.template.spec.containers[0].image}"); got != "5 frontend nginx:1.29" {
				t.Errorf("after set image, scale, label: %q", got)
			}

			k.must("run", "probe", "--image=busybox", "--restart=Never")
			headers := map[string]string{
				"pods":         "NAME READY STATUS RESTARTS AGE",
				"deployments":  "NAME READY UP-TO-DATE AVAILABLE AGE",
				"services":     "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
				"jobs":         "NAME STATUS COMPLETIONS DURATION AGE",
				"cronjobs":     "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
				"statefulsets": "NAME READY AGE",
				"daemonsets":   "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE",
				"configmaps":   "NAME DATA AGE",
			}
			for res, want := range headers {
				out, err := k.run("get", res)
				if err != nil {
					t.Errorf("get %s: %v", res, err)
					continue
				}
				got := strings.Join(strings.Fields(strings.SplitN(out, "\n", 2)[0]), " ")
				if got != want && !(res == "jobs" && got == "NAME COMPLETIONS DURATION AGE") && !(res == "cronjobs" && got == "NAME SCHEDULE SUSPEND ACTIVE LAST SCHEDULE AGE") {
					t.Errorf("get %s header %q, want %q", res, got, want)
				}
			}
			if out := k.must("describe", "deployment", "web"); !strings.Contains(out, "Replicas:") || !strings.Contains(out, "nginx:1.29") {
				t.Errorf("describe deployment:\n%s", out)
			}
			if out := k.must("explain", "deployment.spec.strategy.rollingUpdate"); !strings.Contains(out, "maxSurge") {
				t.Errorf("explain:\n%s", out)
			}
			if out := k.must("api-resources"); !strings.Contains(out, "deployments") || !strings.Contains(out, "deploy") {
				t.Errorf("api-resources:\n%s", out)
			}

			// Server-side dry run stores nothing; strict validation rejects a typo.
			k.must("create", "configmap", "dry", "--dry-run=server")
			if _, err := k.run("get", "configmap", "dry"); err == nil {
				t.Error("--dry-run=server stored the configmap")
			}
			typo := filepath.Join(t.TempDir(), "typo.yaml")
			_ = os.WriteFile(typo, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndata:\n  a: b\nmetdata: {}\n"), 0o644)
			if out, err := k.run("apply", "--validate=strict", "-f", typo); err == nil || !strings.Contains(out, "metdata") {
				t.Errorf("--validate=strict on a typo: %v\n%s", err, out)
			}

			// Server-side apply, then a conflicting apply by another manager.
			ssa := filepath.Join(t.TempDir(), "ssa.yaml")
			_ = os.WriteFile(ssa, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  owner: first\n"), 0o644)
			k.must("apply", "--server-side", "-f", ssa)
			if out, err := k.run("apply", "--server-side", "--field-manager=other", "-f", strings.Replace(ssa, "", "", 1)); err != nil {
				t.Errorf("re-apply by another manager of identical values: %v\n%s", err, out)
			}
			_ = os.WriteFile(ssa, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  owner: second\n"), 0o644)
			if out, err := k.run("apply", "--server-side", "--field-manager=other", "-f", ssa); err == nil || !strings.Contains(out, "conflict") {
				t.Errorf("conflicting server-side apply: %v\n%s", err, out)
			}
			k.must("apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", ssa)
			if got := k.must("get", "configmap", "ssa", "-o", "jsonpath={.data.owner}"); got != "second" {
				t.Errorf("after --force-conflicts: %q", got)
			}

			k.must("delete", "-f", file, "--wait")
			if out := k.must("get", "deployments,services,statefulsets,daemonsets,jobs,cronjobs", "-o", "name"); strings.TrimSpace(out) != "" {
				t.Errorf("after delete -f --wait: %s", out)
			}
			k.checkServed()
		})
	}
}

// kubectlRun runs one kubectl binary in one namespace at -v=8 and keeps its request log.
type kubectlRun struct {
	t       *testing.T
	s       *server
	bin, ns string
	log     strings.Builder
}

func (k *kubectlRun) run(args ...string) (string, error) {
	full := append([]string{"-n", k.ns, "-v=8"}, args...)
	out, err := k.s.kubectlWith(k.bin, full...)
	stdout, stderr := splitVerbose(out, err)
	k.log.WriteString(stderr)
	if err != nil {
		return stdout + stderr, err
	}
	return strings.TrimSpace(stdout), nil
}

func (k *kubectlRun) must(args ...string) string {
	k.t.Helper()
	out, err := k.run(args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 30))
	}
	return out
}

// statusLine matches the response status kubectl logs at -v=8 (old and new log formats).
var statusLine = regexp.MustCompile(`(?:Response Status: |status=")(\d{3})[^\n]*`)

// checkServed fails on any 404 that is not a named object's NotFound, and on any 406 or 415:
// those are requests kubectl makes that klite does not serve.
func (k *kubectlRun) checkServed() {
	log := k.log.String()
	for _, m := range statusLine.FindAllStringSubmatchIndex(log, -1) {
		code := log[m[2]:m[3]]
		if code != "404" && code != "406" && code != "415" {
			continue
		}
		context := log[max(0, m[0]-400):min(len(log), m[1]+600)]
		plain := strings.ReplaceAll(context, `\`, "")
		if code == "404" && strings.Contains(plain, `"reason":"NotFound"`) && namedDetails.MatchString(plain) {
			continue // a named object that does not exist: served
		}
		k.t.Errorf("kubectl got %s for a request klite does not serve:\n%s", code, context)
	}
}

var namedDetails = regexp.MustCompile(`"details":\{"name":"[^"]+"`)

// splitVerbose separates kubectl's output from its -v=8 log, which goes to stderr.
func splitVerbose(out string, err error) (stdout, stderr string) {
	var o, e []string
	for _, line := range strings.Split(out, "\n") {
		if isLogLine(line) {
			e = append(e, line)
		} else {
			o = append(o, line)
		}
	}
	return strings.Join(o, "\n"), strings.Join(e, "\n")
}

var logLine = regexp.MustCompile(`^[IWE]\d{4} \d{2}:\d{2}:\d{2}`)

func isLogLine(l string) bool {
	return logLine.MatchString(l) || strings.HasPrefix(l, "\t") && strings.Contains(l, ":")
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
