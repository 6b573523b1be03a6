package validation

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func validateProbe(p *corev1.Probe, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateHandlers(handlerSet{
		exec: p.Exec, httpGet: p.HTTPGet, tcpSocket: p.TCPSocket, grpc: p.GRPC,
	}, path)
	errs = append(errs, nonNegative(int64(p.InitialDelaySeconds), path.Child("initialDelaySeconds"))...)
	errs = append(errs, nonNegative(int64(p.TimeoutSeconds), path.Child("timeoutSeconds"))...)
	errs = append(errs, nonNegative(int64(p.PeriodSeconds), path.Child("periodSeconds"))...)
	errs = append(errs, nonNegative(int64(p.SuccessThreshold), path.Child("successThreshold"))...)
	errs = append(errs, nonNegative(int64(p.FailureThreshold), path.Child("failureThreshold"))...)
	if g := p.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

func validateLifecycleHandler(h *corev1.LifecycleHandler, path *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	errs := validateHandlers(handlerSet{exec: h.Exec, httpGet: h.HTTPGet, tcpSocket: h.TCPSocket, sleep: h.Sleep}, path)
	if h.Sleep != nil {
		errs = append(errs, nonNegative(h.Sleep.Seconds, path.Child("sleep", "seconds"))...)
	}
	return errs
}

// handlerSet is the union of probe and lifecycle actions.
type handlerSet struct {
	exec      *corev1.ExecAction
	httpGet   *corev1.HTTPGetAction
	tcpSocket *corev1.TCPSocketAction
	grpc      *corev1.GRPCAction
	sleep     *corev1.SleepAction
}

// validateHandlers checks that exactly one action is set, and that action.
func validateHandlers(h handlerSet, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	add := func(name string, set bool, check func(*field.Path) field.ErrorList) {
		if !set {
			return
		}
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(path.Child(name), "may not specify more than 1 handler type"))
			return
		}
		errs = append(errs, check(path.Child(name))...)
	}
	add("exec", h.exec != nil, func(p *field.Path) field.ErrorList {
		if len(h.exec.Command) == 0 {
			return field.ErrorList{field.Required(p.Child("command"), "")}
		}
		return nil
	})
	add("httpGet", h.httpGet != nil, func(p *field.Path) field.ErrorList { return validateHTTPGet(h.httpGet, p) })
	add("tcpSocket", h.tcpSocket != nil, func(p *field.Path) field.ErrorList {
		return portNumOrName(h.tcpSocket.Port, p.Child("port"))
	})
	add("grpc", h.grpc != nil, func(p *field.Path) field.ErrorList { return portNumber(h.grpc.Port, p.Child("port")) })
	add("sleep", h.sleep != nil, func(*field.Path) field.ErrorList { return nil })
	if n == 0 {
		errs = append(errs, field.Required(path, "must specify a handler type"))
	}
	return errs
}

func validateHTTPGet(h *corev1.HTTPGetAction, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(path.Child("path"), ""))
	}
	errs = append(errs, portNumOrName(h.Port, path.Child("port"))...)
	errs = append(errs, supported(h.Scheme, path.Child("scheme"), corev1.URISchemeHTTP, corev1.URISchemeHTTPS)...)
	for i, hdr := range h.HTTPHeaders {
		errs = append(errs, invalidEach(path.Child("httpHeaders").Index(i).Child("name"), hdr.Name, utilvalidation.IsHTTPHeaderName(hdr.Name))...)
	}
	return errs
}

// portNumOrName checks a port given as a number or as a named port.
func portNumOrName(port intstr.IntOrString, path *field.Path) field.ErrorList {
	if port.Type == intstr.Int {
		return invalidEach(path, port.IntValue(), utilvalidation.IsValidPortNum(port.IntValue()))
	}
	return invalidEach(path, port.StrVal, utilvalidation.IsValidPortName(port.StrVal))
}
