package validation

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidateRBAC(t *testing.T) {
	podsRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}
	role := func(rules ...rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: objectMeta("reader"), Rules: rules}
	}
	clusterRole := func(rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: clusterMeta("system:reader"), Rules: rules}
	}
	binding := func(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
		return defaulted(&rbacv1.RoleBinding{ObjectMeta: objectMeta("b"), RoleRef: ref, Subjects: subjects})
	}
	clusterBinding := func(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return defaulted(&rbacv1.ClusterRoleBinding{ObjectMeta: clusterMeta("b"), RoleRef: ref, Subjects: subjects})
	}
	roleRef := rbacv1.RoleRef{Kind: "Role", Name: "reader"}
	user := rbacv1.Subject{Kind: "User", Name: "alice"}
	runCases(t, create, []errCase{
		{name: "valid role", obj: role(podsRule)},
		{name: "rule without verbs, groups and resources", obj: role(rbacv1.PolicyRule{}),
			want: []wantErr{required("rules[0].verbs"), required("rules[0].apiGroups"), required("rules[0].resources")}},
		{name: "namespaced rule with URLs", obj: role(rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"}}),
			want: []wantErr{invalid("rules[0].nonResourceURLs").with("namespaced rules cannot apply to non-resource URLs"),
				invalid("rules[0].nonResourceURLs").with("rules cannot apply to both regular resources and non-resource URLs")}},
		{name: "valid cluster role with colon name and URLs", obj: clusterRole(rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}})},
		{name: "role name may not contain a slash", obj: &rbacv1.Role{ObjectMeta: objectMeta("a/b")}, want: []wantErr{invalid("metadata.name")}},
		{name: "aggregation rule needs selectors", obj: func() *rbacv1.ClusterRole {
			r := clusterRole()
			r.AggregationRule = &rbacv1.AggregationRule{}
			return r
		}(), want: []wantErr{required("aggregationRule.clusterRoleSelectors")}},
		{name: "valid role binding", obj: binding(roleRef, user, rbacv1.Subject{Kind: "ServiceAccount", Name: "builder"})},
		{name: "role binding ref and subjects", obj: binding(rbacv1.RoleRef{APIGroup: "example.com", Kind: "Thing"},
			rbacv1.Subject{Kind: "Robot", Name: "r"}, rbacv1.Subject{Kind: "ServiceAccount", APIGroup: "rbac.authorization.k8s.io", Name: "Bad"}, rbacv1.Subject{Kind: "User"}),
			want: []wantErr{notSupported("roleRef.apiGroup"), notSupported("roleRef.kind"), required("roleRef.name"),
				notSupported("subjects[0].kind"), invalid("subjects[1].name"), notSupported("subjects[1].apiGroup"), required("subjects[2].name")}},
		{name: "cluster role binding must refer to a cluster role", obj: clusterBinding(roleRef, user),
			want: []wantErr{notSupported("roleRef.kind")}},
		{name: "cluster role binding service account needs namespace", obj: clusterBinding(rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
			rbacv1.Subject{Kind: "ServiceAccount", Name: "builder"}), want: []wantErr{required("subjects[0].namespace")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "subjects may change", old: binding(roleRef, user), obj: binding(roleRef)},
		{name: "roleRef may not change", old: binding(roleRef, user), obj: binding(rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, user),
			want: []wantErr{invalid("roleRef").with("cannot change roleRef")}},
	})
}

func TestValidateLeaseAndEndpointSlice(t *testing.T) {
	lease := func(mod func(*coordinationv1.LeaseSpec)) *coordinationv1.Lease {
		l := &coordinationv1.Lease{ObjectMeta: objectMeta("kube-scheduler"), Spec: coordinationv1.LeaseSpec{
			HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr(int32(15)),
		}}
		mod(&l.Spec)
		return l
	}
	slice := func(typ discoveryv1.AddressType, mod func(*discoveryv1.EndpointSlice)) *discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: objectMeta("web-abc"), AddressType: typ,
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.42.0.5"}}},
			Ports:     []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(int32(80))}}}
		mod(s)
		return defaulted(s)
	}
	runCases(t, create, []errCase{
		{name: "valid lease", obj: lease(func(*coordinationv1.LeaseSpec) {})},
		{name: "lease durations", obj: lease(func(s *coordinationv1.LeaseSpec) {
			s.LeaseDurationSeconds, s.LeaseTransitions = ptr(int32(0)), ptr(int32(-1))
		}), want: []wantErr{invalid("spec.leaseDurationSeconds").with("must be greater than 0"), invalid("spec.leaseTransitions")}},
		{name: "preferred holder needs strategy", obj: lease(func(s *coordinationv1.LeaseSpec) { s.PreferredHolder = ptr("node-2") }),
			want: []wantErr{forbidden("spec.preferredHolder")}},
		{name: "valid endpoint slice", obj: slice(discoveryv1.AddressTypeIPv4, func(*discoveryv1.EndpointSlice) {})},
		{name: "loopback endpoint", obj: slice(discoveryv1.AddressTypeIPv4, func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"127.0.0.1"} }),
			want: []wantErr{invalid("endpoints[0].addresses[0]").with("loopback")}},
		{name: "address type", obj: slice("IPv5", func(*discoveryv1.EndpointSlice) {}), want: []wantErr{notSupported("addressType")}},
		{name: "addresses must match the type", obj: slice(discoveryv1.AddressTypeIPv6, func(*discoveryv1.EndpointSlice) {}),
			want: []wantErr{invalid("endpoints[0].addresses[0]")}},
		{name: "endpoint without addresses and duplicate port names", obj: slice(discoveryv1.AddressTypeIPv4, func(s *discoveryv1.EndpointSlice) {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{})
			s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr("http"), Port: ptr(int32(81))})
		}), want: []wantErr{required("endpoints[1].addresses"), duplicate("ports[1].name")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "lease renewal", old: lease(func(*coordinationv1.LeaseSpec) {}), obj: lease(func(s *coordinationv1.LeaseSpec) { s.HolderIdentity = ptr("node-2") })},
		{name: "address type immutable", old: slice(discoveryv1.AddressTypeIPv4, func(*discoveryv1.EndpointSlice) {}),
			obj:  slice(discoveryv1.AddressTypeFQDN, func(s *discoveryv1.EndpointSlice) { s.Endpoints[0].Addresses = []string{"web.example.com"} }),
			want: []wantErr{invalid("addressType")}},
	})
}

func TestValidateStoragePolicySchedulingAndEvents(t *testing.T) {
	sc := func(mod func(*storagev1.StorageClass)) *storagev1.StorageClass {
		s := &storagev1.StorageClass{ObjectMeta: clusterMeta("fast"), Provisioner: "rancher.io/local-path", Parameters: map[string]string{"a": "b"}}
		mod(s)
		return defaulted(s)
	}
	pdb := func(mod func(*policyv1.PodDisruptionBudgetSpec)) *policyv1.PodDisruptionBudget {
		p := &policyv1.PodDisruptionBudget{ObjectMeta: objectMeta("web"), Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		}}
		mod(&p.Spec)
		return p
	}
	pc := func(name string, value int32) *schedulingv1.PriorityClass {
		return defaulted(&schedulingv1.PriorityClass{ObjectMeta: clusterMeta(name), Value: value})
	}
	ev := func(mod func(*eventsv1.Event)) *eventsv1.Event {
		e := &eventsv1.Event{ObjectMeta: objectMeta("web.1"), EventTime: metav1.NewMicroTime(time.Unix(100, 0)),
			ReportingController: "klite.io/kubelet", ReportingInstance: "node-1", Action: "Started", Reason: "Started", Type: corev1.EventTypeNormal,
			Regarding: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"}}
		mod(e)
		return e
	}
	runCases(t, create, []errCase{
		{name: "valid storage class", obj: sc(func(*storagev1.StorageClass) {})},
		{name: "storage class fields", obj: sc(func(s *storagev1.StorageClass) {
			s.Provisioner = ""
			s.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle)
			s.VolumeBindingMode = ptr(storagev1.VolumeBindingMode("Later"))
		}), want: []wantErr{required("provisioner"), notSupported("reclaimPolicy"), notSupported("volumeBindingMode")}},
		{name: "valid pdb", obj: pdb(func(*policyv1.PodDisruptionBudgetSpec) {})},
		{name: "pdb with both bounds", obj: pdb(func(s *policyv1.PodDisruptionBudgetSpec) { s.MaxUnavailable = ptr(intstr.FromString("120%")) }),
			want: []wantErr{invalid("spec").with("minAvailable and maxUnavailable cannot be both set"), invalid("spec.maxUnavailable")}},
		{name: "valid priority class", obj: pc("high", 1000)},
		{name: "user priority too high", obj: pc("huge", 2000000000), want: []wantErr{forbidden("value")}},
		{name: "system prefix is reserved", obj: pc("system-mine", 10), want: []wantErr{forbidden("metadata.name")}},
		{name: "system class", obj: pc("system-node-critical", 2000001000)},
		{name: "valid events.k8s.io event", obj: ev(func(*eventsv1.Event) {})},
		{name: "strict event fields", obj: ev(func(e *eventsv1.Event) {
			e.EventTime = metav1.MicroTime{}
			e.Type = "Info"
			e.Action = ""
			e.Regarding.Namespace = "other"
		}), want: []wantErr{required("eventTime"), invalid("type"), required("action"), invalid("regarding.namespace")}},
	})
	runCases(t, ValidateUpdate, []errCase{
		{name: "storage class parameters immutable", old: sc(func(*storagev1.StorageClass) {}), obj: sc(func(s *storagev1.StorageClass) { s.Parameters = nil }),
			want: []wantErr{forbidden("parameters").with("updates to parameters are forbidden.")}},
		{name: "priority value immutable", old: pc("high", 1000), obj: pc("high", 1001), want: []wantErr{forbidden("value")}},
		{name: "event note immutable", old: ev(func(*eventsv1.Event) {}), obj: ev(func(e *eventsv1.Event) { e.Note = "changed" }), want: []wantErr{invalid("note")}},
	})
}

// widget stands for a kind this package does not know.
type widget struct {
	metav1.TypeMeta
	metav1.ObjectMeta
}

func (w *widget) DeepCopyObject() runtime.Object {
	c := *w
	w.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return &c
}

func TestValidateUnknownKindAndMismatch(t *testing.T) {
	runCases(t, create, []errCase{
		{name: "unknown kind gets metadata checks", obj: &widget{ObjectMeta: metav1.ObjectMeta{Name: "w", Namespace: "default"}}},
		{name: "unknown kind with bad name", obj: &widget{ObjectMeta: metav1.ObjectMeta{Name: "W!"}}, want: []wantErr{invalid("metadata.name")}},
	})
	errs := ValidateUpdate(pod(), &corev1.Service{})
	if len(errs) != 1 || errs[0].Type != field.ErrorTypeInternal {
		t.Fatalf("update of a pod against a service: got %v, want one internal error", errs)
	}
}
