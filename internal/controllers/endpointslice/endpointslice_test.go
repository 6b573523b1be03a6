package endpointslice

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Services: f.Core().V1().Services(), Pods: f.Core().V1().Pods(), Slices: f.Discovery().V1().EndpointSlices()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

func createPod(t *testing.T, ns, name string, ready bool, ip string) {
	t.Helper()
	p, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env.MarkPodRunning(t, p, ready, ip)
}

// render summarizes the service's slices: "ports: ip(ready) ...".
func render(t *testing.T, ns string) (string, []discoveryv1.EndpointSlice) {
	l, err := env.Client.DiscoveryV1().EndpointSlices(ns).List(context.Background(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, s := range l.Items {
		p := ""
		for _, port := range s.Ports {
			p += fmt.Sprintf("%s=%d ", *port.Name, *port.Port)
		}
		p += ":"
		for _, e := range s.Endpoints {
			p += fmt.Sprintf(" %s(%v)", e.Addresses[0], *e.Conditions.Ready)
		}
		parts = append(parts, p)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; "), l.Items
}

func waitSlices(t *testing.T, ns, want string) []discoveryv1.EndpointSlice {
	t.Helper()
	var items []discoveryv1.EndpointSlice
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		var got string
		got, items = render(t, ns)
		return got == want, got
	})
	return items
}

func TestSlicesFollowPods(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	svc, err := env.Client.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No pods yet: one empty slice.
	waitSlices(t, ns, ":")
	createPod(t, ns, "a", true, "10.244.0.1")
	createPod(t, ns, "b", false, "10.244.0.2")
	items := waitSlices(t, ns, "http=8080 : 10.244.0.1(true) 10.244.0.2(false)")
	s := items[0]
	if s.Labels[discoveryv1.LabelManagedBy] != ManagedBy || s.AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("slice metadata: %v %s", s.Labels, s.AddressType)
	}
	if ref := metav1.GetControllerOf(&s); ref == nil || ref.UID != svc.UID {
		t.Errorf("slice not owned by service: %+v", s.OwnerReferences)
	}
	for _, e := range s.Endpoints {
		if e.TargetRef == nil || e.TargetRef.Kind != "Pod" || e.NodeName == nil || *e.NodeName != "node-1" {
			t.Errorf("endpoint %+v lacks targetRef or node", e)
		}
	}
	b, _ := env.Client.CoreV1().Pods(ns).Get(context.Background(), "b", metav1.GetOptions{})
	env.MarkPodRunning(t, b, true, "10.244.0.2")
	waitSlices(t, ns, "http=8080 : 10.244.0.1(true) 10.244.0.2(true)")
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Bound to a node, the pod terminates gracefully: not ready, then gone.
	waitSlices(t, ns, "http=8080 : 10.244.0.1(false) 10.244.0.2(true)")
}

func TestManyPodsSplitAcrossSlices(t *testing.T) {
	ns := env.Namespace(t)
	var pods []*corev1.Pod
	for i := range MaxEndpoints + 5 {
		pods = append(pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: ns},
			Status: corev1.PodStatus{PodIP: fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), Phase: corev1.PodRunning}})
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: corev1.ServiceSpec{Selector: map[string]string{"a": "b"}, Ports: []corev1.ServicePort{{Name: "p", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	got := desired(svc, pods)
	if len(got) != 2 || len(got[0].Endpoints) != MaxEndpoints || len(got[1].Endpoints) != 5 {
		t.Fatalf("want slices of %d and 5, got %d slices", MaxEndpoints, len(got))
	}
}
