package apply

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestApplyErrors(t *testing.T) {
	cases := []struct {
		name     string
		gvk      schema.GroupVersionKind
		manager  string
		patch    string
		wantCode int32
		wantMsg  string // substring of the status message
	}{
		{"no field manager", cmGVK, "", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}", 422,
			"fieldManager: Required value: is required for apply patch"},
		{"field manager too long", cmGVK, strings.Repeat("m", 129), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}", 422,
			"fieldManager: Too long"},
		{"not YAML", cmGVK, "a", "metadata: [", 400, "error decoding YAML"},
		{"a list, not an object", cmGVK, "a", "- a\n- b", 400, "error decoding YAML"},
		{"kind missing", cmGVK, "a", "metadata: {name: cm}", 400, "invalid object type: /, Kind="},
		{"other version", deployGVK, "a", "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: web}", 400,
			"invalid object type: apps/v1beta1, Kind=Deployment"},
		{"unknown field", cmGVK, "a", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nbogus: 1", 400,
			".bogus: field not declared in schema"},
		{"wrong type", deployGVK, "a", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: lots}", 400,
			".spec.replicas: expected numeric"},
		{"duplicate list-map keys", podGVK, "a", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n" +
			"spec: {containers: [{name: c, image: i}, {name: c, image: j}]}", 400, "duplicate entries for key [name=\"c\"]"},
		{"managedFields in the patch", cmGVK, "a", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, managedFields: []}", 400,
			"metadata.managedFields must be nil"},
		{"untracked kind", schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, "a", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}", 415,
			"apply patches are not supported for Secret"},
	}
	m := newManager(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Apply(nil, []byte(tc.patch), tc.gvk, tc.manager, false)
			status, ok := err.(apierrors.APIStatus)
			if !ok {
				t.Fatalf("got %v, want a %d status", err, tc.wantCode)
			}
			if s := status.Status(); s.Code != tc.wantCode || !strings.Contains(s.Message, tc.wantMsg) {
				t.Errorf("got %d %q, want %d containing %q", s.Code, s.Message, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestNewRejectsKindsWithoutSchema(t *testing.T) {
	_, err := New(Config{Kinds: []Kind{{GVK: schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}}}})
	if err == nil {
		t.Fatal("New accepted a kind it has no schema for")
	}
}

func TestUpdateOfUntrackedKindLeavesObjectAlone(t *testing.T) {
	m := newManager(t)
	secret := schema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	obj, _ := m.scheme.New(secret)
	out, err := m.Update(nil, obj, secret, "a")
	if err != nil || out != obj {
		t.Fatalf("got %v, %v; want the object back unchanged", out, err)
	}
	if m.Tracks(secret, "") || !m.Tracks(deployGVK, Status) || m.Tracks(cmGVK, Status) {
		t.Error("Tracks disagrees with the configured kinds")
	}
}

func TestManagerName(t *testing.T) {
	cases := []struct{ fieldManager, userAgent, want string }{
		{"kubectl-client-side-apply", "kubectl/v1.33.0 (linux/amd64) kubernetes/abc", "kubectl-client-side-apply"},
		{"", "kubectl/v1.33.0 (linux/amd64) kubernetes/abc", "kubectl"},
		{"", "kube-controller-manager/v1.33.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:deployment-controller", "kube-controller-manager"},
		{"", "curl", "curl"},
		{"", "", ""},
	}
	for _, tc := range cases {
		if got := ManagerName(tc.fieldManager, tc.userAgent); got != tc.want {
			t.Errorf("ManagerName(%q, %q) = %q, want %q", tc.fieldManager, tc.userAgent, got, tc.want)
		}
	}
}

func TestValidatePatchOptions(t *testing.T) {
	yes := true
	cases := []struct {
		name         string
		isApply      bool
		fieldManager string
		force        *bool
		want         string // "" for valid, else the status message
	}{
		{"apply with manager", true, "kubectl", &yes, ""},
		{"merge patch without manager", false, "", nil, ""},
		{"apply without manager", true, "", nil, `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`},
		{"force on a merge patch", false, "m", &yes, `PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch`},
		{"unprintable manager", false, "a\x01", nil, `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\x01": must only contain printable characters`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePatchOptions(tc.isApply, tc.fieldManager, tc.force)
			got := ""
			if err != nil {
				got = err.Error()
				if !apierrors.IsInvalid(err) {
					t.Errorf("got %v, want 422 Invalid", err)
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestValidateWriteOptions(t *testing.T) {
	if err := ValidateWriteOptions("CreateOptions", "kubectl-create"); err != nil {
		t.Errorf("valid manager refused: %v", err)
	}
	err := ValidateWriteOptions("UpdateOptions", strings.Repeat("x", 129))
	want := field.TooLong(field.NewPath("fieldManager"), "", 128).Error()
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "UpdateOptions.meta.k8s.io") {
		t.Errorf("got %v, want UpdateOptions invalid with %q", err, want)
	}
}
