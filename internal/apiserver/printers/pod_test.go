package printers

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestPodStatus checks the READY, STATUS and RESTARTS cells against upstream's rules.
func TestPodStatus(t *testing.T) {
	tests := []struct {
		name                    string
		pod                     *corev1.Pod
		ready, status, restarts string
	}{
		{"pending without statuses", makePod("p").phase(corev1.PodPending).container("app", nil).obj(), "0/1", "Pending", "0"},
		{"running and ready", makePod("p").container("app", running(true)).obj(), "1/1", "Running", "0"},
		{"running, not ready", makePod("p").container("app", running(false)).obj(), "0/1", "Running", "0"},
		{"creating", makePod("p").phase(corev1.PodPending).container("app", waiting("ContainerCreating")).obj(), "0/1", "ContainerCreating", "0"},
		{"image pull error", makePod("p").phase(corev1.PodPending).container("app", waiting("ErrImagePull")).obj(), "0/1", "ErrImagePull", "0"},
		{"image pull back-off", makePod("p").phase(corev1.PodPending).container("app", waiting("ImagePullBackOff")).obj(), "0/1", "ImagePullBackOff", "0"},
		{"crash loop with restart time", makePod("p").container("app", restarted(waiting("CrashLoopBackOff"), 5, 3*time.Minute)).obj(), "0/1", "CrashLoopBackOff", "5 (3m ago)"},
		{"restarts without a termination time", makePod("p").container("app", restarted(running(true), 2, 0)).obj(), "1/1", "Running", "2"},
		{"restart hours ago", makePod("p").container("app", restarted(running(true), 1, 3*time.Hour+2*time.Minute)).obj(), "1/1", "Running", "1 (3h2m ago)"},
		{"restarts summed, latest time wins", makePod("p").
			container("a", restarted(running(true), 2, 10*time.Minute)).
			container("b", restarted(running(true), 3, 90*time.Second)).obj(), "2/2", "Running", "5 (90s ago)"},
		{"completed", makePod("p").phase(corev1.PodSucceeded).container("app", terminated("Completed", 0, 0)).obj(), "0/1", "Completed", "0"},
		{"error", makePod("p").phase(corev1.PodFailed).container("app", terminated("Error", 1, 0)).obj(), "0/1", "Error", "0"},
		{"oom killed", makePod("p").container("app", terminated("OOMKilled", 137, 0)).obj(), "0/1", "OOMKilled", "0"},
		{"signal without reason", makePod("p").container("app", terminated("", 0, 9)).obj(), "0/1", "Signal:9", "0"},
		{"exit code without reason", makePod("p").container("app", terminated("", 2, 0)).obj(), "0/1", "ExitCode:2", "0"},
		{"first container's state wins", makePod("p").
			container("a", waiting("CrashLoopBackOff")).container("b", running(true)).obj(), "1/2", "CrashLoopBackOff", "0"},
		{"completed beside running, pod ready", makePod("p").condition(corev1.PodReady, corev1.ConditionTrue, "").
			container("a", running(true)).container("b", terminated("Completed", 0, 0)).obj(), "1/2", "Running", "0"},
		{"completed beside running, pod not ready", makePod("p").condition(corev1.PodReady, corev1.ConditionFalse, "").
			container("a", running(true)).container("b", terminated("Completed", 0, 0)).obj(), "1/2", "NotReady", "0"},
		{"completed beside a failed container", makePod("p").
			container("a", terminated("Completed", 0, 0)).container("b", terminated("Error", 3, 0)).obj(), "0/2", "Error", "0"},
		{"status reason", makePod("p").phase(corev1.PodFailed).reason("Evicted").container("app", nil).obj(), "0/1", "Evicted", "0"},
		{"scheduling gated", makePod("p").phase(corev1.PodPending).condition(corev1.PodScheduled, corev1.ConditionFalse, "SchedulingGated").container("app", nil).obj(), "0/1", "SchedulingGated", "0"},
		{"first init container running", makePod("p").phase(corev1.PodPending).
			initContainer("i1", running(false)).initContainer("i2", waiting("PodInitializing")).container("app", waiting("PodInitializing")).obj(), "0/1", "Init:0/2", "0"},
		{"second init container running", makePod("p").phase(corev1.PodPending).
			initContainer("i1", terminated("Completed", 0, 0)).initContainer("i2", running(false)).container("app", waiting("PodInitializing")).obj(), "0/1", "Init:1/2", "0"},
		{"init waiting on PodInitializing", makePod("p").phase(corev1.PodPending).
			initContainer("i1", waiting("PodInitializing")).container("app", nil).obj(), "0/1", "Init:0/1", "0"},
		{"init error", makePod("p").phase(corev1.PodPending).
			initContainer("i1", terminated("Error", 1, 0)).container("app", nil).obj(), "0/1", "Init:Error", "0"},
		{"init exit code", makePod("p").phase(corev1.PodPending).
			initContainer("i1", terminated("", 3, 0)).container("app", nil).obj(), "0/1", "Init:ExitCode:3", "0"},
		{"init signal", makePod("p").phase(corev1.PodPending).
			initContainer("i1", terminated("", 143, 15)).container("app", nil).obj(), "0/1", "Init:Signal:15", "0"},
		{"init crash loop counts init restarts", makePod("p").phase(corev1.PodPending).
			initContainer("i1", restarted(waiting("CrashLoopBackOff"), 4, 2*time.Minute)).container("app", nil).obj(), "0/1", "Init:CrashLoopBackOff", "4 (2m ago)"},
		{"initialized condition lets app containers speak", makePod("p").condition(corev1.PodInitialized, corev1.ConditionTrue, "").
			initContainer("i1", waiting("ImagePullBackOff")).container("app", waiting("CrashLoopBackOff")).obj(), "0/1", "CrashLoopBackOff", "0"},
		{"after init only app restarts count", makePod("p").
			initContainer("i1", restarted(terminated("Completed", 0, 0), 2, 20*time.Minute)).
			container("app", restarted(running(true), 1, 5*time.Minute)).obj(), "1/1", "Running", "1 (5m ago)"},
		{"sidecar not yet started", makePod("p").phase(corev1.PodPending).
			sidecar("proxy", waiting("ContainerCreating")).container("app", nil).obj(), "0/2", "Init:ContainerCreating", "0"},
		{"sidecar started, next init running", makePod("p").phase(corev1.PodPending).
			sidecar("proxy", startedSidecar(true)).initContainer("setup", running(false)).container("app", waiting("PodInitializing")).obj(), "1/2", "Init:1/2", "0"},
		{"sidecar and app running", makePod("p").
			sidecar("proxy", restarted(startedSidecar(true), 3, 4*time.Minute)).
			container("app", restarted(running(true), 1, 6*time.Minute)).obj(), "2/2", "Running", "4 (4m ago)"},
		{"sidecar not ready", makePod("p").
			sidecar("proxy", startedSidecar(false)).container("app", running(true)).obj(), "1/2", "Running", "0"},
		{"terminating", makePod("p").deleted().container("app", running(true)).obj(), "1/1", "Terminating", "0"},
		{"terminating pending pod", makePod("p").phase(corev1.PodPending).deleted().container("app", waiting("ContainerCreating")).obj(), "0/1", "Terminating", "0"},
		{"deleted on a lost node", makePod("p").reason("NodeLost").deleted().container("app", running(true)).obj(), "1/1", "Unknown", "0"},
		{"deleted after success", makePod("p").phase(corev1.PodSucceeded).deleted().container("app", terminated("Completed", 0, 0)).obj(), "0/1", "Completed", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cells, err := For(schema.GroupKind{Kind: "Pod"}).Cells(tt.pod, now)
			if err != nil {
				t.Fatal(err)
			}
			got := []interface{}{cells[1], cells[2], cells[3]}
			want := []interface{}{tt.ready, tt.status, tt.restarts}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("READY, STATUS, RESTARTS = %q, want %q", got, want)
			}
		})
	}
}

// TestPodWideCells checks the cells only `-o wide` shows.
func TestPodWideCells(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []interface{}
	}{
		{"unscheduled", makePod("web").phase(corev1.PodPending).container("app", nil).obj(),
			[]interface{}{"web", "0/1", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"}},
		{"scheduled with gates", func() *corev1.Pod {
			p := makePod("web").container("app", running(true)).
				condition("example.com/gate-a", corev1.ConditionTrue, "").
				condition("example.com/gate-b", corev1.ConditionFalse, "").obj()
			p.Spec.NodeName = "node-1"
			p.Status.NominatedNodeName = "node-2"
			p.Status.PodIPs = []corev1.PodIP{{IP: "10.42.0.5"}, {IP: "fd00::5"}}
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/gate-a"}, {ConditionType: "example.com/gate-b"}, {ConditionType: "example.com/gate-c"}}
			return p
		}(), []interface{}{"web", "1/1", "Running", "0", "60m", "10.42.0.5", "node-1", "node-2", "1/3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := For(schema.GroupKind{Kind: "Pod"}).Cells(tt.pod, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("cells = %q\nwant    %q", got, tt.want)
			}
		})
	}
}

// TestPodRowConditions checks that finished pods' rows are marked Completed.
func TestPodRowConditions(t *testing.T) {
	tests := []struct {
		phase      corev1.PodPhase
		wantReason string
	}{
		{corev1.PodRunning, ""},
		{corev1.PodSucceeded, "Succeeded"},
		{corev1.PodFailed, "Failed"},
	}
	for _, tt := range tests {
		t.Run(string(tt.phase), func(t *testing.T) {
			pod := makePod("p").phase(tt.phase).container("app", nil).obj()
			content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(pod)
			if err != nil {
				t.Fatal(err)
			}
			objs := []runtime.Object{pod, &unstructured.Unstructured{Object: content}}
			table, err := ToTable(schema.GroupKind{Kind: "Pod"}, objs, now, "None", false)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range table.Rows {
				checkPodRowConditions(t, row.Conditions, tt.wantReason)
			}
		})
	}
}

// checkPodRowConditions expects a Completed condition for wantReason, or none if it is empty.
func checkPodRowConditions(t *testing.T, conds []metav1.TableRowCondition, wantReason string) {
	t.Helper()
	if wantReason == "" {
		if len(conds) != 0 {
			t.Errorf("conditions = %v, want none", conds)
		}
		return
	}
	if len(conds) != 1 || conds[0].Type != metav1.RowCompleted || conds[0].Status != metav1.ConditionTrue || conds[0].Reason != wantReason {
		t.Errorf("conditions = %v, want Completed=True because %s", conds, wantReason)
	}
}
