package kubelet

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerEnv builds a container's environment in upstream order: service
// links, envFrom, then env (each value expanded against what came before).
func (k *Kubelet) containerEnv(_ context.Context, pod *corev1.Pod, c *corev1.Container, podIP string) ([]*runtimeapi.KeyValue, error) {
	vars := map[string]string{}
	var order []string
	set := func(key, v string) {
		if _, ok := vars[key]; !ok {
			order = append(order, key)
		}
		vars[key] = v
	}
	for key, v := range k.serviceEnv(pod) {
		set(key, v)
	}
	for _, from := range c.EnvFrom {
		data, err := k.envFromSource(pod.Namespace, from)
		if err != nil {
			return nil, err
		}
		for key, v := range data {
			set(from.Prefix+key, v)
		}
	}
	for _, e := range c.Env {
		v, err := k.envValue(pod, c, e, podIP, vars)
		if err != nil {
			return nil, err
		}
		set(e.Name, v)
	}
	out := make([]*runtimeapi.KeyValue, 0, len(order))
	for _, key := range order {
		out = append(out, &runtimeapi.KeyValue{Key: key, Value: []byte(vars[key])})
	}
	return out, nil
}

func (k *Kubelet) envFromSource(ns string, from corev1.EnvFromSource) (map[string]string, error) {
	switch {
	case from.ConfigMapRef != nil:
		cm, err := k.configMaps.ConfigMaps(ns).Get(from.ConfigMapRef.Name)
		if err != nil {
			return nil, optionalErr(from.ConfigMapRef.Optional, fmt.Errorf("configmap %q not found", from.ConfigMapRef.Name))
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		s, err := k.secrets.Secrets(ns).Get(from.SecretRef.Name)
		if err != nil {
			return nil, optionalErr(from.SecretRef.Optional, fmt.Errorf("secret %q not found", from.SecretRef.Name))
		}
		data := map[string]string{}
		for key, v := range s.Data {
			data[key] = string(v)
		}
		return data, nil
	}
	return nil, nil
}

func optionalErr(optional *bool, err error) error {
	if optional != nil && *optional {
		return nil
	}
	return err
}

// envValue resolves one env entry.
func (k *Kubelet) envValue(pod *corev1.Pod, c *corev1.Container, e corev1.EnvVar, podIP string, vars map[string]string) (string, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return expand(e.Value, vars), nil
	case src.FieldRef != nil:
		return k.fieldValue(pod, src.FieldRef.FieldPath, podIP)
	case src.ResourceFieldRef != nil:
		return k.resourceValue(pod, c, src.ResourceFieldRef)
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		if cm, err := k.configMaps.ConfigMaps(pod.Namespace).Get(ref.Name); err == nil {
			if v, ok := cm.Data[ref.Key]; ok {
				return v, nil
			}
		}
		return "", optionalErr(ref.Optional, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, pod.Namespace, ref.Name))
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		if s, err := k.secrets.Secrets(pod.Namespace).Get(ref.Name); err == nil {
			if v, ok := s.Data[ref.Key]; ok {
				return string(v), nil
			}
		}
		return "", optionalErr(ref.Optional, fmt.Errorf("couldn't find key %s in Secret %s/%s", ref.Key, pod.Namespace, ref.Name))
	}
	return "", nil
}

// fieldValue resolves a downward-API field path.
func (k *Kubelet) fieldValue(pod *corev1.Pod, path, podIP string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return k.nodeIP, nil
	case "status.podIP", "status.podIPs":
		if pod.Spec.HostNetwork {
			return k.nodeIP, nil
		}
		return podIP, nil
	}
	return "", fmt.Errorf("unsupported fieldRef %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

func formatMap(m map[string]string) string {
	lines := make([]string, 0, len(m))
	for key, v := range m {
		lines = append(lines, key+"="+strconv.Quote(v))
	}
	sortStrings(lines)
	return strings.Join(lines, "\n")
}

// resourceValue resolves a resourceFieldRef; an unset limit is the node's allocatable.
func (k *Kubelet) resourceValue(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	if ref.ContainerName != "" {
		if c = specContainer(pod, ref.ContainerName); c == nil {
			return "", fmt.Errorf("no container %q", ref.ContainerName)
		}
	}
	kind, name, _ := strings.Cut(ref.Resource, ".")
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		if kind == "requests" {
			q = resource.Quantity{}
		} else {
			q = machineCapacity(k.cfg.RootDir, k.cfg.MaxPods)[corev1.ResourceName(name)]
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	v := math.Ceil(q.AsApproximateFloat64() / divisor.AsApproximateFloat64())
	return strconv.FormatInt(int64(v), 10), nil
}

// serviceEnv is the docker-links style variables of the namespace's
// services (and the master service's), when enableServiceLinks allows.
func (k *Kubelet) serviceEnv(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	svcs, _ := k.services.List(labels.Everything())
	for _, s := range svcs {
		if s.Spec.ClusterIP == "" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			continue
		}
		master := s.Namespace == "default" && s.Name == "kubernetes"
		if !(master || links && s.Namespace == pod.Namespace) {
			continue
		}
		addServiceVars(out, s)
	}
	return out
}

func addServiceVars(out map[string]string, s *corev1.Service) {
	prefix := strings.ToUpper(strings.ReplaceAll(s.Name, "-", "_"))
	ip := s.Spec.ClusterIP
	out[prefix+"_SERVICE_HOST"] = ip
	for i, p := range s.Spec.Ports {
		port := strconv.Itoa(int(p.Port))
		proto := strings.ToLower(string(p.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		if i == 0 {
			out[prefix+"_SERVICE_PORT"] = port
			out[prefix+"_PORT"] = proto + "://" + ip + ":" + port
		}
		if p.Name != "" {
			out[prefix+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = port
		}
		base := prefix + "_PORT_" + port + "_" + strings.ToUpper(proto)
		out[base] = proto + "://" + ip + ":" + port
		out[base+"_PROTO"], out[base+"_PORT"], out[base+"_ADDR"] = proto, port, ip
	}
}

func envMap(env []*runtimeapi.KeyValue) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		m[kv.Key] = string(kv.Value)
	}
	return m
}

func expandAll(in []string, vars map[string]string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, vars)
	}
	return out
}

// expand replaces $(VAR) with vars' value; $$ escapes a dollar and an
// unknown reference stays as written.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
