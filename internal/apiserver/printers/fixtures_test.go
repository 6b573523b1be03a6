package printers

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// ago is a timestamp d before now.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// agoPtr is ago as a pointer.
func agoPtr(d time.Duration) *metav1.Time {
	t := ago(d)
	return &t
}

// objMeta is the metadata of an object named name in namespace default, created an hour ago.
func objMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(time.Hour), ResourceVersion: "7", UID: types.UID("uid-" + name)}
}

func ptr[T any](v T) *T { return &v }

// podWrapper builds pods for tests: makePod("web").container("app").running(0, true).obj().
type podWrapper struct{ corev1.Pod }

func makePod(name string) *podWrapper {
	return &podWrapper{corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: objMeta(name),
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}}
}

func (p *podWrapper) obj() *corev1.Pod { return &p.Pod }

func (p *podWrapper) phase(ph corev1.PodPhase) *podWrapper {
	p.Status.Phase = ph
	return p
}

func (p *podWrapper) reason(r string) *podWrapper {
	p.Status.Reason = r
	return p
}

func (p *podWrapper) deleted() *podWrapper {
	p.DeletionTimestamp = agoPtr(time.Second)
	return p
}

func (p *podWrapper) condition(t corev1.PodConditionType, s corev1.ConditionStatus, reason string) *podWrapper {
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s, Reason: reason})
	return p
}

// container adds an app container and its status in state st.
func (p *podWrapper) container(name string, st containerStatus) *podWrapper {
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: name + ":1"})
	if st != nil {
		s := st(name)
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, s)
	}
	return p
}

// initContainer adds an init container and its status in state st (nil: no status yet).
func (p *podWrapper) initContainer(name string, st containerStatus) *podWrapper {
	return p.addInit(corev1.Container{Name: name, Image: name + ":1"}, st)
}

// sidecar adds a restartable init container and its status.
func (p *podWrapper) sidecar(name string, st containerStatus) *podWrapper {
	return p.addInit(corev1.Container{Name: name, Image: name + ":1", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}, st)
}

func (p *podWrapper) addInit(c corev1.Container, st containerStatus) *podWrapper {
	p.Spec.InitContainers = append(p.Spec.InitContainers, c)
	if st != nil {
		p.Status.InitContainerStatuses = append(p.Status.InitContainerStatuses, st(c.Name))
	}
	return p
}

// containerStatus makes the status of the named container.
type containerStatus func(name string) corev1.ContainerStatus

func running(ready bool) containerStatus {
	return func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Ready: ready, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}}
	}
}

// startedSidecar is a sidecar that started (and is ready or not).
func startedSidecar(ready bool) containerStatus { return running(ready) }

func waiting(reason string) containerStatus {
	return func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
	}
}

func terminated(reason string, exitCode, signal int32) containerStatus {
	return func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: reason, ExitCode: exitCode, Signal: signal, FinishedAt: ago(time.Minute)}}}
	}
}

// restarted adds restarts to a status, the last one finished lastAgo before now (0: no time known).
func restarted(st containerStatus, restarts int32, lastAgo time.Duration) containerStatus {
	return func(name string) corev1.ContainerStatus {
		s := st(name)
		s.RestartCount = restarts
		if lastAgo != 0 {
			s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: ago(lastAgo)}
		}
		return s
	}
}
