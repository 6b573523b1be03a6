package validation

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func clusterMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, ResourceVersion: "1"}
}

func TestValidateNamespaceAndNode(t *testing.T) {
	ns := func(name string, finalizers ...corev1.FinalizerName) *corev1.Namespace {
		return defaulted(&corev1.Namespace{ObjectMeta: clusterMeta(name), Spec: corev1.NamespaceSpec{Finalizers: finalizers}})
	}
	node := func(mod func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: clusterMeta("node-1.example.com")}
		mod(n)
		return defaulted(n)
	}
	runCases(t, create, []errCase{
		{name: "valid namespace", obj: ns("team-a")},
		{name: "namespace name is a DNS label", obj: ns("team.a"), want: []wantErr{invalid("metadata.name")}},
		{name: "namespace may not have a namespace", obj: func() *corev1.Namespace {
			n := ns("a")
			n.Namespace = "default"
			return n
		}(), want: []wantErr{forbidden("metadata.namespace")}},
		{name: "namespace finalizer must be qualified", obj: ns("a", "custom"), want: []wantErr{invalid("spec.finalizers[0]")}},
		{name: "valid node", obj: node(func(n *corev1.Node) {
			n.Spec.PodCIDR = "10.42.1.0/24"
			n.Spec.PodCIDRs = []string{"10.42.1.0/24"}
			n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
		})},
		{name: "node taints", obj: node(func(n *corev1.Node) {
			n.Spec.Taints = []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "b"}, {Key: "bad key", Effect: corev1.TaintEffectNoExecute}}
		}), want: []wantErr{duplicate("spec.taints[1]"), required("spec.taints[2].effect"), invalid("spec.taints[3].key")}},
		{name: "node pod CIDR", obj: node(func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.42.1.0/33"} }), want: []wantErr{invalid("spec.podCIDRs[0]")}},
	})
	withCIDR := node(func(n *corev1.Node) { n.Spec.PodCIDR = "10.42.1.0/24"; n.Spec.PodCIDRs = []string{"10.42.1.0/24"} })
	runCases(t, ValidateUpdate, []errCase{
		{name: "pod CIDR may be assigned once", old: node(func(*corev1.Node) {}), obj: withCIDR},
		{name: "pod CIDR may not change", old: withCIDR, obj: node(func(n *corev1.Node) { n.Spec.PodCIDR = "10.42.2.0/24"; n.Spec.PodCIDRs = []string{"10.42.2.0/24"} }),
			want: []wantErr{forbidden("spec.podCIDRs")}},
	})
	deleting := ns("a")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	runCases(t, ValidateStatusUpdate, []errCase{
		{name: "terminating namespace", old: deleting, obj: func() *corev1.Namespace {
			n := deleting.DeepCopy()
			n.Status.Phase = corev1.NamespaceTerminating
			return n
		}()},
		{name: "live namespace cannot be terminating", old: ns("a"), obj: func() *corev1.Namespace {
			n := ns("a")
			n.Status.Phase = corev1.NamespaceTerminating
			return n
		}(), want: []wantErr{invalid("status.Phase")}},
	})
}

func TestValidateConfigMapAndSecret(t *testing.T) {
	cm := func(immutable bool, data map[string]string) *corev1.ConfigMap {
		c := &corev1.ConfigMap{ObjectMeta: objectMeta("cfg"), Data: data}
		if immutable {
			c.Immutable = ptr(true)
		}
		return c
	}
	secret := func(typ corev1.SecretType, data map[string][]byte, mod func(*corev1.Secret)) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: objectMeta("s"), Type: typ, Data: data}
		if mod != nil {
			mod(s)
		}
		return defaulted(s)
	}
	runCases(t, create, []errCase{
		{name: "valid config map", obj: cm(false, map[string]string{"app.conf": "x", "KEY_1": "y"})},
		{name: "bad config map key", obj: cm(false, map[string]string{"a/b": "x"}), want: []wantErr{invalid("data[a/b]")}},
		{name: "key in data and binaryData", obj: func() *corev1.ConfigMap {
			c := cm(false, map[string]string{"k": "x"})
			c.BinaryData = map[string][]byte{"k": []byte("y")}
			return c
		}(), want: []wantErr{invalid("data[k]").with("duplicate of key present in binaryData")}},
		{name: "config map too large", obj: cm(false, map[string]string{"k": strings.Repeat("x", corev1.MaxSecretSize+1)}), want: []wantErr{{typ: "FieldValueTooLong", field: "[]"}}},
		{name: "valid opaque secret", obj: secret("", map[string][]byte{"password": []byte("x")}, nil)},
		{name: "tls secret needs cert and key", obj: secret(corev1.SecretTypeTLS, map[string][]byte{"tls.crt": nil}, nil), want: []wantErr{required("data[tls.key]")}},
		{name: "dockerconfigjson must be JSON", obj: secret(corev1.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte("{")}, nil),
			want: []wantErr{invalid("data[.dockerconfigjson]")}},
		{name: "service account token needs the annotation", obj: secret(corev1.SecretTypeServiceAccountToken, nil, nil),
			want: []wantErr{required("metadata.annotations[kubernetes.io/service-account.name]")}},
		{name: "basic auth needs a field", obj: secret(corev1.SecretTypeBasicAuth, nil, nil), want: []wantErr{required("data[username]"), required("data[password]")}},
		{name: "stringData is folded into data and checked", obj: secret("", nil, func(s *corev1.Secret) { s.StringData = map[string]string{"bad key": "x"} }),
			want: []wantErr{invalid("data[bad key]")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "mutable config map", old: cm(false, map[string]string{"a": "1"}), obj: cm(false, map[string]string{"a": "2"})},
		{name: "immutable config map data", old: cm(true, map[string]string{"a": "1"}), obj: cm(true, map[string]string{"a": "2"}),
			want: []wantErr{forbidden("data").with("field is immutable when `immutable` is set")}},
		{name: "immutable may not be unset", old: cm(true, nil), obj: cm(false, nil), want: []wantErr{forbidden("immutable")}},
		{name: "secret type is immutable", old: secret("", nil, nil), obj: secret("example.com/custom", nil, nil), want: []wantErr{invalid("type")}},
		{name: "immutable secret data", old: secret("", map[string][]byte{"a": nil}, func(s *corev1.Secret) { s.Immutable = ptr(true) }),
			obj: secret("", map[string][]byte{"b": nil}, func(s *corev1.Secret) { s.Immutable = ptr(true) }), want: []wantErr{forbidden("data")}},
	})
}

func TestValidateEndpointsServiceAccountAndEvent(t *testing.T) {
	ep := func(subsets ...corev1.EndpointSubset) *corev1.Endpoints {
		return defaulted(&corev1.Endpoints{ObjectMeta: objectMeta("web"), Subsets: subsets})
	}
	event := func(mod func(*corev1.Event)) *corev1.Event {
		e := &corev1.Event{ObjectMeta: objectMeta("web.1"), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"}, Reason: "Started"}
		mod(e)
		return e
	}
	runCases(t, create, []errCase{
		{name: "valid endpoints", obj: ep(corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{{IP: "10.42.0.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}})},
		{name: "endpoints without addresses", obj: ep(corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 80}}}), want: []wantErr{required("subsets[0]")}},
		{name: "endpoint address and ports", obj: ep(corev1.EndpointSubset{
			Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}, {IP: "x"}},
			Ports:     []corev1.EndpointPort{{Port: 80}, {Name: "b", Port: 0}},
		}), want: []wantErr{invalid("subsets[0].addresses[0].ip"), invalid("subsets[0].addresses[1].ip"), required("subsets[0].ports[0].name"), invalid("subsets[0].ports[1].port")}},
		{name: "valid service account", obj: &corev1.ServiceAccount{ObjectMeta: objectMeta("builder")}},
		{name: "service account name", obj: &corev1.ServiceAccount{ObjectMeta: objectMeta("Builder")}, want: []wantErr{invalid("metadata.name")}},
		{name: "valid legacy event", obj: event(func(*corev1.Event) {})},
		{name: "event namespace mismatch", obj: event(func(e *corev1.Event) { e.InvolvedObject.Namespace = "other" }),
			want: []wantErr{invalid("involvedObject.namespace").with("does not match event.namespace")}},
		{name: "new-style event needs reporter fields", obj: event(func(e *corev1.Event) { e.EventTime = metav1.NewMicroTime(time.Unix(10, 0)) }),
			want: []wantErr{required("reportingComponent"), invalid("reportingComponent"), invalid("reportingComponent"),
				required("reportingInstance"), required("action")}},
	})
}

func TestValidateVolumes(t *testing.T) {
	gi := resource.MustParse("1Gi")
	pv := func(mod func(*corev1.PersistentVolume)) *corev1.PersistentVolume {
		v := &corev1.PersistentVolume{ObjectMeta: clusterMeta("pv-1"), Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: gi},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data"}},
		}}
		mod(v)
		return defaulted(v)
	}
	pvc := func(mod func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: objectMeta("data"), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: gi}},
		}}
		mod(c)
		return defaulted(c)
	}
	runCases(t, create, []errCase{
		{name: "valid pv", obj: pv(func(*corev1.PersistentVolume) {})},
		{name: "pv without capacity, modes and source", obj: pv(func(v *corev1.PersistentVolume) {
			v.Spec.Capacity, v.Spec.AccessModes, v.Spec.HostPath = nil, nil, nil
		}), want: []wantErr{required("spec.capacity"), notSupported("spec.capacity"), required("spec.accessModes"), required("spec")}},
		{name: "pv with two sources", obj: pv(func(v *corev1.PersistentVolume) { v.Spec.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"} }),
			want: []wantErr{forbidden("spec.nfs")}},
		{name: "local pv needs node affinity", obj: pv(func(v *corev1.PersistentVolume) {
			v.Spec.HostPath = nil
			v.Spec.Local = &corev1.LocalVolumeSource{Path: "/mnt/disk"}
		}), want: []wantErr{required("spec.nodeAffinity")}},
		{name: "valid pvc", obj: pvc(func(*corev1.PersistentVolumeClaim) {})},
		{name: "pvc needs modes and storage", obj: pvc(func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes, c.Spec.Resources.Requests = nil, nil }),
			want: []wantErr{required("spec.accessModes").with("at least 1 access mode is required"), required("spec.resources[storage]")}},
		{name: "pvc storage must be positive", obj: pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}), want: []wantErr{invalid("spec.resources[storage]")}},
		{name: "pvc access mode", obj: pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
		}), want: []wantErr{notSupported("spec.accessModes")}},
	})
	bound := pvc(func(c *corev1.PersistentVolumeClaim) {
		c.Status.Phase = corev1.ClaimBound
		c.Status.Capacity = corev1.ResourceList{corev1.ResourceStorage: gi}
	})
	resized := func(size string) *corev1.PersistentVolumeClaim {
		c := bound.DeepCopy()
		c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(size)
		return c
	}
	runCases(t, ValidateUpdate, []errCase{
		{name: "bound claim may grow", old: bound, obj: resized("2Gi")},
		{name: "bound claim may not shrink below capacity", old: bound, obj: resized("512Mi"),
			want: []wantErr{forbidden("spec.resources.requests.storage").with("field can not be less than status.capacity")}},
		{name: "pending claim may not resize", old: pvc(func(*corev1.PersistentVolumeClaim) {}), obj: pvc(func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		}), want: []wantErr{forbidden("spec").with("spec is immutable after creation")}},
		{name: "claim may be bound to a volume", old: pvc(func(*corev1.PersistentVolumeClaim) {}), obj: pvc(func(c *corev1.PersistentVolumeClaim) { c.Spec.VolumeName = "pv-1" })},
		{name: "access modes immutable", old: bound, obj: func() *corev1.PersistentVolumeClaim {
			c := bound.DeepCopy()
			c.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			return c
		}(), want: []wantErr{forbidden("spec")}},
		{name: "pv source immutable", old: pv(func(*corev1.PersistentVolume) {}), obj: pv(func(v *corev1.PersistentVolume) { v.Spec.HostPath.Path = "/other" }),
			want: []wantErr{forbidden("spec.persistentvolumesource")}},
		{name: "pv reclaim policy may change", old: pv(func(*corev1.PersistentVolume) {}), obj: pv(func(v *corev1.PersistentVolume) {
			v.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
		})},
	})
}

func TestValidateLimitRangeAndQuota(t *testing.T) {
	q := resource.MustParse
	lr := func(items ...corev1.LimitRangeItem) *corev1.LimitRange {
		return defaulted(&corev1.LimitRange{ObjectMeta: objectMeta("limits"), Spec: corev1.LimitRangeSpec{Limits: items}})
	}
	quota := func(hard corev1.ResourceList, scopes ...corev1.ResourceQuotaScope) *corev1.ResourceQuota {
		return &corev1.ResourceQuota{ObjectMeta: objectMeta("quota"), Spec: corev1.ResourceQuotaSpec{Hard: hard, Scopes: scopes}}
	}
	runCases(t, create, []errCase{
		{name: "valid limit range", obj: lr(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Max: corev1.ResourceList{corev1.ResourceCPU: q("2")}, Min: corev1.ResourceList{corev1.ResourceCPU: q("100m")}})},
		{name: "min above max", obj: lr(corev1.LimitRangeItem{Type: corev1.LimitTypeContainer,
			Max: corev1.ResourceList{corev1.ResourceCPU: q("1")}, Min: corev1.ResourceList{corev1.ResourceCPU: q("2")}}),
			want: []wantErr{invalid("spec.limits[0].min[cpu]").with("min value 2 is greater than max value 1"),
				invalid("spec.limits[0].defaultRequest[cpu]"), invalid("spec.limits[0].default[cpu]")}},
		{name: "pod limits have no defaults", obj: lr(corev1.LimitRangeItem{Type: corev1.LimitTypePod, Default: corev1.ResourceList{corev1.ResourceCPU: q("1")}}),
			want: []wantErr{forbidden("spec.limits[0].default")}},
		{name: "unknown and duplicate types", obj: lr(corev1.LimitRangeItem{Type: "Node"}, corev1.LimitRangeItem{Type: "Node"}),
			want: []wantErr{invalid("spec.limits[0].type"), invalid("spec.limits[1].type"), duplicate("spec.limits[1].type")}},
		{name: "valid quota", obj: quota(corev1.ResourceList{corev1.ResourcePods: q("10"), "requests.cpu": q("4")}, corev1.ResourceQuotaScopeBestEffort)},
		{name: "negative quota and bad scope", obj: quota(corev1.ResourceList{corev1.ResourcePods: q("-1")}, "Sometimes"),
			want: []wantErr{invalid("spec.hard[pods]"), notSupported("spec.scopes[0]")}},
		{name: "unknown quota resource", obj: quota(corev1.ResourceList{"pod": q("1"), "requests.example.com/gpu": q("1")}),
			want: []wantErr{invalid("spec.hard[pod]").with("must be a standard resource for quota")}},
	})
}
