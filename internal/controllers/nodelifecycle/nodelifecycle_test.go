package nodelifecycle

import (
	"context"
	"fmt"
	"k8s.io/client-go/util/retry"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller/controllertest"
)

var env *controllertest.Env

func TestMain(m *testing.M) { controllertest.Main(m, &env) }

func start(t *testing.T) {
	f := env.Factory()
	c, err := New(Config{Client: env.Client, Nodes: f.Core().V1().Nodes(), Leases: f.Coordination().V1().Leases(), Pods: f.Core().V1().Pods(),
		GracePeriod: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	controllertest.Run(t, f, c)
}

// kubelet plays a node's kubelet: it registers the node and can heartbeat.
type kubelet struct {
	t    *testing.T
	name string
}

func newKubelet(t *testing.T, name string, ready corev1.ConditionStatus) *kubelet {
	k := &kubelet{t: t, name: name}
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.postStatus(ready)
	now := metav1.NewMicroTime(time.Now())
	if _, err := env.Client.CoordinationV1().Leases(LeaseNamespace).Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	return k
}

func (k *kubelet) postStatus(ready corev1.ConditionStatus) {
	k.t.Helper()
	for range 10 {
		n, err := env.Client.CoreV1().Nodes().Get(context.Background(), k.name, metav1.GetOptions{})
		if err != nil {
			k.t.Fatal(err)
		}
		now := metav1.Now()
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready, Reason: "KubeletReady", LastHeartbeatTime: now, LastTransitionTime: now}}
		if _, err = env.Client.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err == nil {
			return
		}
	}
	k.t.Fatal("could not post node status")
}

func (k *kubelet) renew() {
	l, err := env.Client.CoordinationV1().Leases(LeaseNamespace).Get(context.Background(), k.name, metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	l.Spec.RenewTime = &now
	if _, err := env.Client.CoordinationV1().Leases(LeaseNamespace).Update(context.Background(), l, metav1.UpdateOptions{}); err != nil {
		k.t.Fatal(err)
	}
}

func taintKeys(t *testing.T, name string) (string, corev1.ConditionStatus) {
	n, err := env.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := ""
	for _, tn := range n.Spec.Taints {
		s += tn.Key + ":" + string(tn.Effect) + " "
	}
	var ready corev1.ConditionStatus
	if r := readyCondition(n); r != nil {
		ready = r.Status
	}
	return s, ready
}

func waitNode(t *testing.T, name, taints string, ready corev1.ConditionStatus) {
	t.Helper()
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		got, r := taintKeys(t, name)
		return got == taints && r == ready, fmt.Sprintf("taints %q ready %s", got, r)
	})
}

func TestLeaseExpiryMarksUnknownAndTaints(t *testing.T) {
	ns := env.Namespace(t)
	start(t)
	k := newKubelet(t, "lease-node", corev1.ConditionTrue)
	pod, err := env.Client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{NodeName: "lease-node", Containers: []corev1.Container{{Name: "c", Image: "x"}}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env.MarkPodRunning(t, pod, true, "10.42.0.5")

	// Heartbeats keep it healthy past the grace period.
	for range 4 {
		time.Sleep(500 * time.Millisecond)
		k.renew()
	}
	if got, r := taintKeys(t, "lease-node"); got != "" || r != corev1.ConditionTrue {
		t.Fatalf("healthy node tainted %q ready %s", got, r)
	}
	// Silence: Unknown, unreachable taints, pod not ready.
	waitNode(t, "lease-node", "node.kubernetes.io/unreachable:NoSchedule node.kubernetes.io/unreachable:NoExecute ", corev1.ConditionUnknown)
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		p, _ := env.Client.CoreV1().Pods(ns).Get(context.Background(), "p", metav1.GetOptions{})
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionFalse, string(c.Status)
			}
		}
		return false, "no ready condition"
	})
	// The kubelet comes back: taints go.
	k.renew()
	k.postStatus(corev1.ConditionTrue)
	waitNode(t, "lease-node", "", corev1.ConditionTrue)
}

func TestNotReadyTaints(t *testing.T) {
	start(t)
	k := newKubelet(t, "sick-node", corev1.ConditionFalse)
	_ = k
	waitNode(t, "sick-node", "node.kubernetes.io/not-ready:NoSchedule node.kubernetes.io/not-ready:NoExecute ", corev1.ConditionFalse)
}

// TestConditionTaints checks that pressure conditions and cordoning keep new pods away with
// NoSchedule taints that go when the condition clears, as upstream's TaintNodesByCondition.
func TestConditionTaints(t *testing.T) {
	start(t)
	k := newKubelet(t, "pressed-node", corev1.ConditionTrue)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the kubelet keeps its lease fresh throughout
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
				k.renew()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	setConditions := func(conds ...corev1.NodeCondition) {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			n, err := env.Client.CoreV1().Nodes().Get(context.Background(), k.name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			n.Status.Conditions = append([]corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now}}, conds...)
			_, err = env.Client.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := metav1.Now()
	setConditions(corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue, LastHeartbeatTime: now},
		corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now})
	waitNode(t, k.name, "node.kubernetes.io/memory-pressure:NoSchedule ", corev1.ConditionTrue)

	cordon(t, k.name, true)
	setConditions(corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, LastHeartbeatTime: now})
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		got, _ := taintKeys(t, k.name)
		keys := strings.Fields(got)
		slices.Sort(keys)
		return slices.Equal(keys, []string{"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"}), got
	})

	setConditions()
	cordon(t, k.name, false)
	waitNode(t, k.name, "", corev1.ConditionTrue)
}

// cordon sets spec.unschedulable as `kubectl cordon` and `uncordon` do.
func cordon(t *testing.T, name string, on bool) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := env.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Spec.Unschedulable = on
		_, err = env.Client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
