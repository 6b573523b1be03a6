package limitranger

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/klite/klite/internal/quota/usage"
)

// checkPod checks every container (type Container) and the pod as a whole (type Pod).
func checkPod(lr *corev1.LimitRange, pod *corev1.Pod) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		switch item.Type {
		case corev1.LimitTypeContainer:
			for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
				for i := range cs {
					errs = append(errs, bounds(item, cs[i].Resources.Requests, cs[i].Resources.Limits)...)
				}
			}
		case corev1.LimitTypePod:
			whole := *pod
			whole.Spec.Overhead = nil
			errs = append(errs, bounds(item, usage.PodRequests(&whole, false), usage.PodRequests(&whole, true))...)
		}
	}
	return errs
}

// checkClaim checks a claim's storage request against PersistentVolumeClaim min and max.
func checkClaim(lr *corev1.LimitRange, pvc *corev1.PersistentVolumeClaim) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypePersistentVolumeClaim {
			continue
		}
		req := pvc.Spec.Resources.Requests
		for _, r := range sorted(item.Min) {
			errs = appendErr(errs, minimum(item.Type, r, item.Min[r], req, nil))
		}
		for _, r := range sorted(item.Max) {
			errs = appendErr(errs, maximumRequest(item.Type, r, item.Max[r], req))
		}
	}
	return errs
}

// bounds applies one item's min, max and maxLimitRequestRatio to requests and limits.
func bounds(item corev1.LimitRangeItem, req, lim corev1.ResourceList) []error {
	var errs []error
	for _, r := range sorted(item.Min) {
		errs = appendErr(errs, minimum(item.Type, r, item.Min[r], req, lim))
	}
	for _, r := range sorted(item.Max) {
		errs = appendErr(errs, maximum(item.Type, r, item.Max[r], req, lim))
	}
	for _, r := range sorted(item.MaxLimitRequestRatio) {
		errs = appendErr(errs, ratio(item.Type, r, item.MaxLimitRequestRatio[r], req, lim))
	}
	return errs
}

func minimum(t corev1.LimitType, r corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) error {
	rq, hasReq := req[r]
	lq, hasLim := lim[r]
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", r, t, bound.String())
	case rq.Cmp(bound) < 0:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", r, t, bound.String(), rq.String())
	case hasLim && lq.Cmp(bound) < 0:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", r, t, bound.String(), lq.String())
	}
	return nil
}

func maximum(t corev1.LimitType, r corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) error {
	rq, hasReq := req[r]
	lq, hasLim := lim[r]
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", r, t, bound.String())
	case lq.Cmp(bound) > 0:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", r, t, bound.String(), lq.String())
	case hasReq && rq.Cmp(bound) > 0:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", r, t, bound.String(), rq.String())
	}
	return nil
}

// maximumRequest bounds a request where the type knows no limits (claims).
func maximumRequest(t corev1.LimitType, r corev1.ResourceName, bound resource.Quantity, req corev1.ResourceList) error {
	rq, hasReq := req[r]
	switch {
	case !hasReq:
		return fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", r, t, bound.String())
	case rq.Cmp(bound) > 0:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", r, t, bound.String(), rq.String())
	}
	return nil
}

func ratio(t corev1.LimitType, r corev1.ResourceName, bound resource.Quantity, req, lim corev1.ResourceList) error {
	rq, hasReq := req[r]
	lq, hasLim := lim[r]
	if !hasReq || rq.IsZero() {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", r, t, bound.String())
	}
	if !hasLim || lq.IsZero() {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", r, t, bound.String())
	}
	observed := float64(lq.MilliValue()) / float64(rq.MilliValue())
	if observed*1000 > float64(bound.MilliValue()) {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", r, t, bound.String(), observed)
	}
	return nil
}

func sorted(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}
