package controllermanager

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/klite/klite/internal/controller/controllertest"
)

// deploymentEnv runs the workload controllers and a fake kubelet for one namespace.
func deploymentEnv(t *testing.T, ready func(*corev1.Pod) bool) string {
	t.Helper()
	ns := env.Namespace(t)
	if ready == nil {
		ready = func(*corev1.Pod) bool { return true }
	}
	env.FakeKubelet(t, ns, ready)
	startManager(t, func(o *Options) { o.Controllers = []string{"deployment", "replicaset", "garbagecollector"} })
	return ns
}

type deployOpt func(*appsv1.Deployment)

func createDeployment(t *testing.T, ns string, replicas int32, opts ...deployOpt) *appsv1.Deployment {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate("web", "nginx:1")},
	}
	for _, o := range opts {
		o(d)
	}
	d, err := env.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func getDeployment(t *testing.T, ns string) *appsv1.Deployment {
	t.Helper()
	d, err := env.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// updateDeployment applies f with conflict retries.
func updateDeployment(t *testing.T, ns string, f func(*appsv1.Deployment)) {
	t.Helper()
	for range 10 {
		d := getDeployment(t, ns)
		f(d)
		_, err := env.Client.AppsV1().Deployments(ns).Update(context.Background(), d, metav1.UpdateOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			t.Fatal(err)
		}
	}
	t.Fatal("update kept conflicting")
}

func setImage(t *testing.T, ns, image string) {
	updateDeployment(t, ns, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = image })
}

func condition(d *appsv1.Deployment, ct appsv1.DeploymentConditionType) appsv1.DeploymentCondition {
	for _, c := range d.Status.Conditions {
		if c.Type == ct {
			return c
		}
	}
	return appsv1.DeploymentCondition{}
}

// waitRolledOut waits for what `kubectl rollout status` waits for, plus all pods on image.
func waitRolledOut(t *testing.T, ns string, replicas int32, image string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	controllertest.Eventually(t, 30*time.Second, func() (bool, string) {
		d = getDeployment(t, ns)
		s := d.Status
		done := s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == replicas && s.Replicas == replicas && s.AvailableReplicas == replicas &&
			condition(d, appsv1.DeploymentProgressing).Reason == "NewReplicaSetAvailable" && condition(d, appsv1.DeploymentAvailable).Status == corev1.ConditionTrue
		pods := livePods(t, ns, "web")
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				done = false
			}
		}
		return done && len(pods) == int(replicas), fmt.Sprintf("status %+v, %d pods", s, len(pods))
	})
	return d
}

func replicaSets(t *testing.T, ns string) map[string]appsv1.ReplicaSet {
	t.Helper()
	l, err := env.Client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]appsv1.ReplicaSet{}
	for _, rs := range l.Items {
		out[rs.Spec.Template.Spec.Containers[0].Image] = rs
	}
	return out
}

func TestDeploymentRollingUpdateUndoScaleDelete(t *testing.T) {
	ns := deploymentEnv(t, nil)
	surge, unavailable := intstr.FromInt32(1), intstr.FromInt32(0)
	createDeployment(t, ns, 3, func(d *appsv1.Deployment) {
		d.Annotations = map[string]string{"kubernetes.io/change-cause": "first"}
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}
	})
	d := waitRolledOut(t, ns, 3, "nginx:1")
	if d.Annotations["deployment.kubernetes.io/revision"] != "1" {
		t.Fatalf("revision %q", d.Annotations["deployment.kubernetes.io/revision"])
	}

	// Roll to nginx:2 watching that there are never more than replicas+maxSurge pods nor fewer
	// than replicas-maxUnavailable ready.
	stopWatch := watchBounds(t, ns, 4)
	setImage(t, ns, "nginx:2")
	waitRolledOut(t, ns, 3, "nginx:2")
	stopWatch()
	rss := replicaSets(t, ns)
	if len(rss) != 2 || *rss["nginx:1"].Spec.Replicas != 0 || rss["nginx:2"].Annotations["deployment.kubernetes.io/revision"] != "2" {
		t.Fatalf("replica sets after update: %v", summary(rss))
	}
	if rss["nginx:1"].Annotations["kubernetes.io/change-cause"] != "first" {
		t.Fatalf("change-cause not copied: %v", rss["nginx:1"].Annotations)
	}

	// Undo as kubectl does: put the old template back; the old ReplicaSet returns as revision 3.
	setImage(t, ns, "nginx:1")
	d = waitRolledOut(t, ns, 3, "nginx:1")
	rss = replicaSets(t, ns)
	if len(rss) != 2 || rss["nginx:1"].Annotations["deployment.kubernetes.io/revision"] != "3" || d.Annotations["deployment.kubernetes.io/revision"] != "3" {
		t.Fatalf("after undo: %v, deployment revision %s", summary(rss), d.Annotations["deployment.kubernetes.io/revision"])
	}

	updateDeployment(t, ns, func(d *appsv1.Deployment) { five := int32(5); d.Spec.Replicas = &five })
	waitRolledOut(t, ns, 5, "nginx:1")

	if err := env.Client.AppsV1().Deployments(ns).Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		n := len(replicaSets(t, ns))
		p := len(livePods(t, ns, "web"))
		return n == 0 && p == 0, fmt.Sprintf("%d replica sets, %d pods left", n, p)
	})
}

// watchBounds fails the test if the pod count of app web ever exceeds maxPods.
func watchBounds(t *testing.T, ns string, maxPods int) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if n := len(livePods(t, ns, "web")); n > maxPods {
				t.Errorf("%d pods during rollout, max %d", n, maxPods)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() { cancel(); <-done }
}

func summary(rss map[string]appsv1.ReplicaSet) string {
	s := ""
	for img, rs := range rss {
		s += fmt.Sprintf("%s:%s replicas=%d rev=%s; ", rs.Name, img, *rs.Spec.Replicas, rs.Annotations["deployment.kubernetes.io/revision"])
	}
	return s
}

func TestDeploymentRecreate(t *testing.T) {
	ns := deploymentEnv(t, nil)
	createDeployment(t, ns, 2, func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType })
	waitRolledOut(t, ns, 2, "nginx:1")
	// Under Recreate the two images never run together.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			imgs := map[string]bool{}
			for _, p := range livePods(t, ns, "web") {
				imgs[p.Spec.Containers[0].Image] = true
			}
			if len(imgs) > 1 {
				t.Errorf("old and new pods together: %v", imgs)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	setImage(t, ns, "nginx:2")
	waitRolledOut(t, ns, 2, "nginx:2")
	cancel()
	<-done
}

func TestDeploymentPauseResume(t *testing.T) {
	ns := deploymentEnv(t, nil)
	createDeployment(t, ns, 2)
	waitRolledOut(t, ns, 2, "nginx:1")
	updateDeployment(t, ns, func(d *appsv1.Deployment) { d.Spec.Paused = true })
	setImage(t, ns, "nginx:2")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		c := condition(getDeployment(t, ns), appsv1.DeploymentProgressing)
		return c.Reason == "DeploymentPaused", fmt.Sprintf("progressing %+v", c)
	})
	controllertest.Never(t, time.Second, func() (bool, string) {
		n := len(replicaSets(t, ns))
		return n != 1, fmt.Sprintf("%d replica sets while paused", n)
	})
	updateDeployment(t, ns, func(d *appsv1.Deployment) { d.Spec.Paused = false })
	waitRolledOut(t, ns, 2, "nginx:2")
}

func TestDeploymentProgressDeadlineExceeded(t *testing.T) {
	ns := deploymentEnv(t, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image != "broken" })
	deadline := int32(2)
	createDeployment(t, ns, 2, func(d *appsv1.Deployment) { d.Spec.ProgressDeadlineSeconds = &deadline })
	waitRolledOut(t, ns, 2, "nginx:1")
	setImage(t, ns, "broken")
	controllertest.Eventually(t, 20*time.Second, func() (bool, string) {
		d := getDeployment(t, ns)
		c := condition(d, appsv1.DeploymentProgressing)
		return c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded", fmt.Sprintf("progressing %+v", c)
	})
	// The old pods keep serving: availability was never given up.
	d := getDeployment(t, ns)
	if d.Status.AvailableReplicas < 1 || condition(d, appsv1.DeploymentAvailable).Status != corev1.ConditionTrue {
		t.Fatalf("availability lost: %+v", d.Status)
	}
}

func TestDeploymentRevisionHistoryLimit(t *testing.T) {
	ns := deploymentEnv(t, nil)
	one := int32(1)
	createDeployment(t, ns, 1, func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = &one })
	for _, img := range []string{"nginx:2", "nginx:3", "nginx:4"} {
		waitRolledOut(t, ns, 1, map[string]string{"nginx:2": "nginx:1", "nginx:3": "nginx:2", "nginx:4": "nginx:3"}[img])
		setImage(t, ns, img)
	}
	waitRolledOut(t, ns, 1, "nginx:4")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		rss := replicaSets(t, ns)
		_, keptPrev := rss["nginx:3"]
		return len(rss) == 2 && keptPrev, summary(rss)
	})
}

func TestDeploymentProportionalScaling(t *testing.T) {
	// New pods never become ready, so the rollout stays half way.
	ns := deploymentEnv(t, func(p *corev1.Pod) bool { return p.Spec.Containers[0].Image == "nginx:1" })
	surge, unavailable := intstr.FromInt32(2), intstr.FromInt32(0)
	createDeployment(t, ns, 4, func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}
	})
	waitRolledOut(t, ns, 4, "nginx:1")
	setImage(t, ns, "nginx:2")
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		rss := replicaSets(t, ns)
		return len(rss) == 2 && *rss["nginx:2"].Spec.Replicas == 2 && *rss["nginx:1"].Spec.Replicas == 4, summary(rss)
	})
	// Doubling replicas mid-rollout: 6 -> 10 allowed (8 + surge 2), split 4:2 as 2:1.
	updateDeployment(t, ns, func(d *appsv1.Deployment) { n := int32(8); d.Spec.Replicas = &n })
	controllertest.Eventually(t, 10*time.Second, func() (bool, string) {
		rss := replicaSets(t, ns)
		return *rss["nginx:1"].Spec.Replicas == 7 && *rss["nginx:2"].Spec.Replicas == 3, summary(rss)
	})
}
