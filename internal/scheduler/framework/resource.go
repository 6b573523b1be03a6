package framework

import (
	corev1 "k8s.io/api/core/v1"
)

// Default requests the scorers assume for containers that request nothing, as upstream.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// Resource is an amount of every schedulable resource.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int64
	Scalar           map[corev1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.AddList(rl)
	return r
}

// AddList adds every quantity in rl.
func (r *Resource) AddList(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if isScalar(name) {
				r.setScalar(name, r.Scalar[name]+q.Value())
			}
		}
	}
}

// isScalar reports extended and hugepage resources, which are counted as integers.
func isScalar(name corev1.ResourceName) bool {
	s := string(name)
	return len(s) > 0 && (containsSlash(s) || len(s) > 9 && s[:9] == "hugepages")
}

func containsSlash(s string) bool {
	for i := range len(s) {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func (r *Resource) setScalar(name corev1.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[corev1.ResourceName]int64{}
	}
	r.Scalar[name] = v
}

// Add adds o to r.
func (r *Resource) Add(o Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.setScalar(k, r.Scalar[k]+v)
	}
}

// Sub subtracts o from r.
func (r *Resource) Sub(o Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for k, v := range o.Scalar {
		r.setScalar(k, r.Scalar[k]-v)
	}
}

// Max raises every amount in r to at least o's.
func (r *Resource) Max(o Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for k, v := range o.Scalar {
		if v > r.Scalar[k] {
			r.setScalar(k, v)
		}
	}
}

// Clone copies r, including its scalar map.
func (r Resource) Clone() Resource {
	if r.Scalar != nil {
		m := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			m[k] = v
		}
		r.Scalar = m
	}
	return r
}

// Get returns the amount of one resource by name.
func (r *Resource) Get(name corev1.ResourceName) int64 {
	switch name {
	case corev1.ResourceCPU:
		return r.MilliCPU
	case corev1.ResourceMemory:
		return r.Memory
	case corev1.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case corev1.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.Scalar[name]
}

// PodRequests computes what a pod asks of a node, as upstream does: the larger of its regular
// containers plus sidecars and the peak during init (each init container on top of the sidecars
// started before it), plus pod overhead; pod-level resources win when set. nonZero is the same
// with the scorers' defaults substituted for containers that request no cpu or memory.
func PodRequests(pod *corev1.Pod) (req, nonZero Resource) {
	if pr := pod.Spec.Resources; pr != nil && len(pr.Requests) > 0 {
		req = NewResource(pr.Requests)
		nonZero = req.Clone()
		defaultNonZero(&nonZero, pr.Requests)
	} else {
		req, nonZero = containerRequests(pod.Spec)
	}
	if pod.Spec.Overhead != nil {
		req.AddList(pod.Spec.Overhead)
		nonZero.AddList(pod.Spec.Overhead)
	}
	return req, nonZero
}

func containerRequests(spec corev1.PodSpec) (req, nonZero Resource) {
	for _, c := range spec.Containers {
		req.AddList(c.Resources.Requests)
		nonZero.Add(nonZeroOf(c.Resources.Requests))
	}
	var sidecars, sidecarsNZ, initPeak, initPeakNZ Resource
	for _, c := range spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sidecars.AddList(c.Resources.Requests)
			sidecarsNZ.Add(nonZeroOf(c.Resources.Requests))
			initPeak.Max(sidecars)
			initPeakNZ.Max(sidecarsNZ)
			continue
		}
		step := sidecars.Clone()
		step.AddList(c.Resources.Requests)
		stepNZ := sidecarsNZ.Clone()
		stepNZ.Add(nonZeroOf(c.Resources.Requests))
		initPeak.Max(step)
		initPeakNZ.Max(stepNZ)
	}
	req.Add(sidecars)
	nonZero.Add(sidecarsNZ)
	req.Max(initPeak)
	nonZero.Max(initPeakNZ)
	return req, nonZero
}

func nonZeroOf(rl corev1.ResourceList) Resource {
	r := NewResource(rl)
	defaultNonZero(&r, rl)
	return r
}

func defaultNonZero(r *Resource, rl corev1.ResourceList) {
	if _, ok := rl[corev1.ResourceCPU]; !ok {
		r.MilliCPU = DefaultMilliCPURequest
	}
	if _, ok := rl[corev1.ResourceMemory]; !ok {
		r.Memory = DefaultMemoryRequest
	}
}
