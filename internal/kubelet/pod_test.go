package kubelet

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestPodLifecycle runs a pod with an init container and every kind of env
// source to Running, checks the status kubectl shows, its logs and events,
// then deletes it gracefully.
func TestPodLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"},
		Data: map[string]string{"color": "blue", "size": "L"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data: map[string][]byte{"password": []byte("hunter2")}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := e.pod("web", `echo "name=$POD_NAME ns=$POD_NS color=$COLOR pw=$PW cfg_size=$CFG_size greet=$GREETING arg=$1"; trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done`,
		func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "web"}
			c := &p.Spec.Containers[0]
			c.Command = append(c.Command, "sh", "$(GREETING)")
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: mustQ("100m")}
			c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}}
			c.Env = []corev1.EnvVar{
				{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
				{Name: "POD_NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
				{Name: "COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "color"}}},
				{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "password"}}},
				{Name: "GREETING", Value: "hello-$(POD_NAME)-$$(NOPE)"},
			}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", "echo init-ran"}}}
			grace := int64(5)
			p.Spec.TerminationGracePeriodSeconds = &grace
		})
	e.create(p)
	got := e.waitPod("web", 30*time.Second, "Running and Ready", func(p *corev1.Pod) bool {
		return running(p) && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
	})
	checkRunningStatus(t, got)
	logs := e.logs("web", "main", "")
	if want := "name=web ns=default color=blue pw=hunter2 cfg_size=L greet=hello-web-$(NOPE) arg=hello-web-$(NOPE)"; !strings.Contains(logs, want) {
		t.Errorf("logs = %q, want %q", logs, want)
	}
	if logs := e.logs("web", "init", ""); logs != "init-ran\n" {
		t.Errorf("init logs = %q", logs)
	}
	evs := e.events("web")
	for _, want := range []string{"Pulling", "Pulled", "Created", "Started"} {
		if !slices.Contains(evs, want) {
			t.Errorf("events %v lack %s", evs, want)
		}
	}

	// Graceful deletion: SIGTERM reaches the container, the kubelet confirms.
	if err := e.client.CoreV1().Pods("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := e.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod not deleted: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sbs, err := e.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil || len(sbs.Items) != 0 {
		t.Errorf("sandboxes after deletion = %v, %v", sbs, err)
	}
	if !slices.Contains(e.events("web"), "Killing") {
		t.Errorf("no Killing event: %v", e.events("web"))
	}
}

func checkRunningStatus(t *testing.T, p *corev1.Pod) {
	t.Helper()
	st := p.Status
	if st.QOSClass != corev1.PodQOSBurstable || st.HostIP != "10.0.0.10" || !strings.HasPrefix(st.PodIP, "10.81.") || st.StartTime == nil {
		t.Errorf("status qos=%s hostIP=%s podIP=%s startTime=%v", st.QOSClass, st.HostIP, st.PodIP, st.StartTime)
	}
	conds := map[corev1.PodConditionType]corev1.ConditionStatus{}
	for _, c := range st.Conditions {
		conds[c.Type] = c.Status
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		if conds[ct] != corev1.ConditionTrue {
			t.Errorf("condition %s = %q", ct, conds[ct])
		}
	}
	cs := st.ContainerStatuses[0]
	if cs.State.Running == nil || !strings.HasPrefix(cs.ContainerID, "klite://") || cs.ImageID == "" || cs.RestartCount != 0 || cs.Started == nil || !*cs.Started {
		t.Errorf("container status = %+v", cs)
	}
	ics := st.InitContainerStatuses[0]
	if ics.State.Terminated == nil || ics.State.Terminated.Reason != "Completed" || ics.Ready {
		t.Errorf("init container status = %+v", ics)
	}
}
