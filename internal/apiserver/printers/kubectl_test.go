package printers

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	cliprinters "k8s.io/cli-runtime/pkg/printers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// asKubectlReceivesIt sends table through JSON and decodes it the way `kubectl get` does:
// into unstructured content, then into a Table whose row objects are unstructured.
func asKubectlReceivesIt(t *testing.T, table *metav1.Table) *metav1.Table {
	t.Helper()
	data, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, data)
	if err != nil {
		t.Fatal(err)
	}
	var got metav1.Table
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.(*unstructured.Unstructured).Object, &got); err != nil {
		t.Fatal(err)
	}
	for i := range got.Rows {
		row := &got.Rows[i]
		if row.Object.Raw == nil {
			continue
		}
		if row.Object.Object, err = runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw); err != nil {
			t.Fatal(err)
		}
	}
	return &got
}

// kubectlGet prints the tables of objs as `kubectl get` would with opts; each later
// table is a watch event's, sent without headers.
func kubectlGet(t *testing.T, gk schema.GroupKind, opts cliprinters.PrintOptions, objs ...[]runtime.Object) string {
	t.Helper()
	var out bytes.Buffer
	printer := cliprinters.NewTablePrinter(opts)
	w := cliprinters.GetNewTabWriter(&out) // as kubectl: one tab writer, flushed after each table
	for i, batch := range objs {
		table, err := ToTable(gk, batch, now, "Metadata", i > 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := printer.PrintObj(asKubectlReceivesIt(t, table), w); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

// TestKubectlGetPods checks the text kubectl prints for pods, written out as upstream prints it.
func TestKubectlGetPods(t *testing.T) {
	pods := []runtime.Object{
		makePod("web-1").container("app", running(true)).obj(),
		makePod("crashy").container("app", restarted(waiting("CrashLoopBackOff"), 5, 3*time.Minute)).obj(),
		makePod("setup").phase(corev1.PodPending).initContainer("init", running(false)).container("app", waiting("PodInitializing")).obj(),
	}
	tests := []struct {
		name string
		opts cliprinters.PrintOptions
		want string
	}{
		{"default", cliprinters.PrintOptions{}, "" +
			"NAME     READY   STATUS             RESTARTS     AGE\n" +
			"web-1    1/1     Running            0            60m\n" +
			"crashy   0/1     CrashLoopBackOff   5 (3m ago)   60m\n" +
			"setup    0/1     Init:0/1           0            60m\n"},
		{"all namespaces", cliprinters.PrintOptions{WithNamespace: true}, "" +
			"NAMESPACE   NAME     READY   STATUS             RESTARTS     AGE\n" +
			"default     web-1    1/1     Running            0            60m\n" +
			"default     crashy   0/1     CrashLoopBackOff   5 (3m ago)   60m\n" +
			"default     setup    0/1     Init:0/1           0            60m\n"},
		{"wide", cliprinters.PrintOptions{Wide: true}, "" +
			"NAME     READY   STATUS             RESTARTS     AGE   IP       NODE     NOMINATED NODE   READINESS GATES\n" +
			"web-1    1/1     Running            0            60m   <none>   <none>   <none>           <none>\n" +
			"crashy   0/1     CrashLoopBackOff   5 (3m ago)   60m   <none>   <none>   <none>           <none>\n" +
			"setup    0/1     Init:0/1           0            60m   <none>   <none>   <none>           <none>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kubectlGet(t, podGK, tt.opts, pods); got != tt.want {
				t.Errorf("kubectl get pods printed:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestKubectlGetWatch checks that watch events' tables, sent without headers, print as
// further rows under the first header.
func TestKubectlGetWatch(t *testing.T) {
	first := []runtime.Object{makePod("web").phase(corev1.PodPending).container("app", waiting("ContainerCreating")).obj()}
	second := []runtime.Object{makePod("web").container("app", running(true)).obj()}
	want := "" +
		"NAME   READY   STATUS              RESTARTS   AGE\n" +
		"web    0/1     ContainerCreating   0          60m\n" +
		"web    1/1     Running             0          60m\n"
	got := kubectlGet(t, podGK, cliprinters.PrintOptions{}, first, second)
	if got != want {
		t.Errorf("kubectl get -w printed:\n%s\nwant:\n%s", got, want)
	}
}

// TestKubectlGetGolden prints other kinds through kubectl's printer and compares the text
// with testdata/<name>.txt (rewrite with -update, then review the diff).
func TestKubectlGetGolden(t *testing.T) {
	tests := []struct {
		name string
		gk   schema.GroupKind
		opts cliprinters.PrintOptions
		objs []runtime.Object
	}{
		{"deployments-wide", gk("apps", "Deployment"), cliprinters.PrintOptions{Wide: true}, []runtime.Object{
			&appsv1.Deployment{ObjectMeta: objMeta("web"), Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Selector: labelSelector(), Template: podSpec()},
				Status: appsv1.DeploymentStatus{ReadyReplicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}},
		}},
		{"services", serviceGK, cliprinters.PrintOptions{}, []runtime.Object{
			service("kubernetes", corev1.ServiceTypeClusterIP, func(s *corev1.Service) {
				s.Spec.ClusterIPs, s.Spec.Selector = []string{"10.43.0.1"}, nil
				s.Spec.Ports = []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}
			}),
			service("lb", corev1.ServiceTypeLoadBalancer, func(s *corev1.Service) {
				s.Spec.Ports = []corev1.ServicePort{{Port: 80, NodePort: 31080, Protocol: corev1.ProtocolTCP}}
			}),
		}},
		{"nodes-wide", nodeGK, cliprinters.PrintOptions{Wide: true}, []runtime.Object{
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: ago(50 * time.Hour), Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
					NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13 (trixie)", KernelVersion: "6.12.48", Architecture: "amd64", ContainerRuntimeVersion: "klite://0.1.0"}}},
		}},
		{"events", eventGK, cliprinters.PrintOptions{}, []runtime.Object{
			&corev1.Event{ObjectMeta: objMeta("web.1"), Type: "Normal", Reason: "Scheduled", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"},
				Message: "Successfully assigned default/web to node-1", FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(5 * time.Minute), Count: 1},
			&corev1.Event{ObjectMeta: objMeta("web.2"), Type: "Warning", Reason: "BackOff", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"},
				Message: "Back-off restarting failed container app in pod web_default(uid)", FirstTimestamp: ago(4 * time.Minute), LastTimestamp: ago(10 * time.Second), Count: 7},
		}},
		{"storageclasses", gk("storage.k8s.io", "StorageClass"), cliprinters.PrintOptions{}, []runtime.Object{
			&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path", CreationTimestamp: ago(time.Hour),
				Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "rancher.io/local-path"},
		}},
		{"roles-default-table", gk("rbac.authorization.k8s.io", "Role"), cliprinters.PrintOptions{}, []runtime.Object{
			&rbacv1.Role{ObjectMeta: objMeta("reader")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := kubectlGet(t, tt.gk, tt.opts, tt.objs)
			golden := filepath.Join("testdata", tt.name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("kubectl printed:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}
