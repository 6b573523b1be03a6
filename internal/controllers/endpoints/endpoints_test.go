package endpoints

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Services: f.Core().V1().Services(), Pods: f.Core().V1().Pods(), Endpoints: f.Core().V1().Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

func createPod(t *testing.T, ns, name string, port int32, ready bool, ip string) {
	t.Helper()
	p, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "c", Image: "nginx",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env.MarkPodRunning(t, p, ready, ip)
}

func createService(t *testing.T, ns string, headless bool) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "web"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}, {Name: "metrics", Port: 9100}},
	}}
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	if _, err := env.Client.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// render summarizes Endpoints as "ports: ready | notready; ..." for comparison.
func render(ep *corev1.Endpoints) string {
	s := ""
	for _, sub := range ep.Subsets {
		for _, p := range sub.Ports {
			s += fmt.Sprintf("%s=%d ", p.Name, p.Port)
		}
		s += ":"
		for _, a := range sub.Addresses {
			s += " " + a.IP + "@" + *a.NodeName + "/" + a.TargetRef.Name
		}
		s += " |"
		for _, a := range sub.NotReadyAddresses {
			s += " " + a.IP
		}
		s += ";"
	}
	return s
}

func waitEndpoints(t *testing.T, ns, want string) *corev1.Endpoints {
	t.Helper()
	var ep *corev1.Endpoints
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		var err error
		ep, err = env.Client.CoreV1().Endpoints(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return render(ep) == want, render(ep)
	})
	return ep
}

func TestEndpointsFollowPods(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createPod(t, ns, "a", 8080, true, "10.244.0.1")
	createPod(t, ns, "b", 9090, false, "10.244.0.2")
	createPod(t, ns, "c", 8080, true, "10.244.0.3")
	createService(t, ns, false)
	// Named targetPort resolved per pod: two subsets.
	waitEndpoints(t, ns, "http=8080 metrics=9100 : 10.244.0.1@node-1/a 10.244.0.3@node-1/c |;http=9090 metrics=9100 : | 10.244.0.2;")

	// Readiness changes show within a second.
	b, _ := env.Client.CoreV1().Pods(ns).Get(context.Background(), "b", metav1.GetOptions{})
	env.MarkPodRunning(t, b, true, "10.244.0.2")
	start := time.Now()
	waitEndpoints(t, ns, "http=8080 metrics=9100 : 10.244.0.1@node-1/a 10.244.0.3@node-1/c |;http=9090 metrics=9100 : 10.244.0.2@node-1/b |;")
	if d := time.Since(start); d > time.Second {
		t.Errorf("readiness took %s to reach endpoints", d)
	}
	if err := env.Client.CoreV1().Pods(ns).Delete(context.Background(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints(t, ns, "http=8080 metrics=9100 : 10.244.0.3@node-1/c |;http=9090 metrics=9100 : 10.244.0.2@node-1/b |;")

	if err := env.Client.CoreV1().Services(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		_, err := env.Client.CoreV1().Endpoints(ns).Get(context.Background(), "web", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("endpoints after service delete: %v", err)
	})
}

func TestHeadlessAndSelectorless(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	createPod(t, ns, "a", 8080, true, "10.244.1.1")
	createService(t, ns, true)
	ep := waitEndpoints(t, ns, "http=8080 metrics=9100 : 10.244.1.1@node-1/a |;")
	if _, ok := ep.Labels[corev1.IsHeadlessService]; !ok {
		t.Errorf("headless label missing: %v", ep.Labels)
	}
	// A service without selector keeps the endpoints its user wrote.
	manual := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "ext"}, Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "192.0.2.1"}}}}}
	if _, err := env.Client.CoreV1().Endpoints(ns).Create(context.Background(), manual, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.CoreV1().Services(ns).Create(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Never(t, time.Second, func() (bool, string) {
		e, err := env.Client.CoreV1().Endpoints(ns).Get(context.Background(), "ext", metav1.GetOptions{})
		return err != nil || len(e.Subsets) != 1, fmt.Sprintf("manual endpoints changed: %v %+v", err, e)
	})
}
