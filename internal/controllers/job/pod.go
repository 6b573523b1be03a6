package job

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klite/klite/internal/controller"
)

// newPod is a pod from the Job's template; for an Indexed Job (idx >= 0) it carries its index
// as annotation, label and JOB_COMPLETION_INDEX, and the hostname <job>-<index>.
func (p *pass) newPod(idx int) *corev1.Pod {
	t := p.job.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: p.job.Name + "-", Namespace: p.job.Namespace, Labels: t.Labels, Annotations: t.Annotations, Finalizers: t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{controller.OwnerOf(p.job, "batch/v1", "Job").Ref()},
		},
		Spec: t.Spec,
	}
	if idx < 0 {
		return pod
	}
	s := strconv.Itoa(idx)
	pod.GenerateName = fmt.Sprintf("%s-%d-", p.job.Name, idx)
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Annotations[IndexAnnotation], pod.Labels[IndexAnnotation] = s, s
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = fmt.Sprintf("%s-%d", p.job.Name, idx)
	}
	env := corev1.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
		FieldPath: fmt.Sprintf("metadata.annotations['%s']", IndexAnnotation),
	}}}
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].Env = append(pod.Spec.InitContainers[i].Env, env)
	}
	for i := range pod.Spec.Containers {
		pod.Spec.Containers[i].Env = append(pod.Spec.Containers[i].Env, env)
	}
	return pod
}
