package job

import (
	"fmt"
	"slices"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Failure reasons and messages, as upstream's.
const (
	reasonPodFailurePolicy  = batchv1.JobReasonPodFailurePolicy
	reasonFailedIndexes     = batchv1.JobReasonFailedIndexes
	reasonMaxFailedIndexes  = batchv1.JobReasonMaxFailedIndexesExceeded
	messageFailedIndexes    = "Job has failed indexes"
	messageMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
)

// classifyFailures applies spec.podFailurePolicy to the failed pods, oldest failure first: a
// FailJob match fails the Job, an Ignore match does not count (towards backoffLimit or
// status.failed), and with backoffLimitPerIndex an index whose failures pass the limit, or
// that matched FailIndex, is failed for good.
func (p *pass) classifyFailures() {
	sort.SliceStable(p.failed, func(i, j int) bool {
		a, b := finishedAt(p.failed[i]), finishedAt(p.failed[j])
		return a.Before(b) || a.Equal(b) && p.failed[i].Name < p.failed[j].Name
	})
	perIndex := map[int]int32{}
	p.failedIndexes = map[int]bool{}
	counted := p.failed[:0:0]
	for _, pod := range p.failed {
		msg, count, action := matchPolicy(p.job.Spec.PodFailurePolicy, pod)
		if action == batchv1.PodFailurePolicyActionFailJob && p.policyFailure == "" {
			p.policyFailure = msg
		}
		if !count {
			continue
		}
		counted = append(counted, pod)
		limit := p.job.Spec.BackoffLimitPerIndex
		if idx, ok := podIndex(pod); ok && limit != nil && p.indexed() {
			perIndex[idx]++
			if action == batchv1.PodFailurePolicyActionFailIndex || perIndex[idx] > *limit {
				p.failedIndexes[idx] = true
			}
		}
	}
	p.failed = counted
}

// matchPolicy finds the first rule matching a failed pod: the FailJob message, whether the
// failure counts, and the rule's action ("" when none matched).
func matchPolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) (string, bool, batchv1.PodFailurePolicyAction) {
	if policy == nil {
		return "", true, ""
	}
	for i, rule := range policy.Rules {
		var msg string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(pod, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			msg = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.Name, pod.Namespace, pod.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case len(rule.OnPodConditions) > 0:
			cond := matchConditions(pod, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			msg = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d", pod.Namespace, pod.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		if rule.Action != batchv1.PodFailurePolicyActionFailJob {
			msg = ""
		}
		return msg, rule.Action != batchv1.PodFailurePolicyActionIgnore, rule.Action
	}
	return "", true, ""
}

// matchExitCodes returns the first terminated container (then init container) whose non-zero
// exit code the requirement matches.
func matchExitCodes(pod *corev1.Pod, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != cs.Name) {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) || (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchConditions(pod *corev1.Pod, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i, c := range pod.Status.Conditions {
		for _, pat := range patterns {
			if c.Type == pat.Type && c.Status == pat.Status {
				return &pod.Status.Conditions[i]
			}
		}
	}
	return nil
}

// indexFailure says why an Indexed Job with backoffLimitPerIndex has failed, if it has: too
// many failed indexes, or every index finished and some failed.
func (p *pass) indexFailure() (string, string) {
	if p.job.Spec.BackoffLimitPerIndex == nil || len(p.failedIndexes) == 0 {
		return "", ""
	}
	if m := p.job.Spec.MaxFailedIndexes; m != nil && int32(len(p.failedIndexes)) > *m {
		return reasonMaxFailedIndexes, messageMaxFailedIndexes
	}
	done := p.succeededIndexes()
	for i := range p.failedIndexes {
		done[i] = true
	}
	if int32(len(done)) >= p.completions() && len(p.active) == 0 {
		return reasonFailedIndexes, messageFailedIndexes
	}
	return "", ""
}

// replaceOnlyFailed reports whether a terminating pod keeps its place until it has failed
// (podReplacementPolicy Failed, the default with a podFailurePolicy).
func (p *pass) replaceOnlyFailed() bool {
	if r := p.job.Spec.PodReplacementPolicy; r != nil {
		return *r == batchv1.Failed
	}
	return p.job.Spec.PodFailurePolicy != nil
}
