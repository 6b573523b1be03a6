package apply

import (
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// The cache decodes entries as upstream does: reconciled with the kind's
// schema, flagged when re-encoding would change their bytes or when they
// own managedFields.
func TestSetCacheDecodes(t *testing.T) {
	m := newUpdateManager(t)
	c := m.updaters[target{podGVK, ""}].sets
	for _, tc := range []struct {
		name, raw, want        string
		canonical, ownsManaged bool
	}{
		{"canonical", `{"f:metadata":{"f:labels":{"f:app":{}}}}`, `{"f:metadata":{"f:labels":{"f:app":{}}}}`, true, false},
		{"spaced", `{ "f:metadata": {"f:labels":{"f:app":{}}}}`, `{"f:metadata":{"f:labels":{"f:app":{}}}}`, false, false},
		{"inside an atomic map", `{"f:spec":{"f:nodeSelector":{"f:a":{}}}}`, `{"f:spec":{"f:nodeSelector":{}}}`, false, false},
		{"managedFields", `{"f:metadata":{"f:managedFields":{}}}`, `{"f:metadata":{"f:managedFields":{}}}`, true, true},
		{"inside managedFields (an atomic list)", `{"f:metadata":{"f:managedFields":{"f:x":{}}}}`, `{"f:metadata":{"f:managedFields":{}}}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := c.get([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.set.ToJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || d.canonical != tc.canonical || d.ownsManagedFields != tc.ownsManaged {
				t.Fatalf("decoded %s canonical %v ownsManagedFields %v", got, d.canonical, d.ownsManagedFields)
			}
			again, _ := c.get([]byte(tc.raw))
			if again.set != d.set {
				t.Fatal("a second lookup decoded again")
			}
		})
	}
	if _, err := c.get([]byte(`{"f:a":`)); err == nil {
		t.Fatal("undecodable fieldsV1 decoded")
	}
}

// The cache holds at most two generations of entries.
func TestSetCacheIsBounded(t *testing.T) {
	m := newUpdateManager(t)
	c := m.updaters[target{cmGVK, ""}].sets
	for i := range 3*setCacheSize + 7 {
		if _, err := c.get(fmt.Appendf(nil, `{"f:data":{"f:k%d":{}}}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.cur) + len(c.old); n > 2*setCacheSize {
		t.Fatalf("cache holds %d entries", n)
	}
}

// contains and intersects agree with the set algebra they stand in for.
func TestSetRelations(t *testing.T) {
	set := func(s string) *fieldpath.Set {
		var out fieldpath.Set
		if err := out.FromJSON(strings.NewReader(s)); err != nil {
			t.Fatal(err)
		}
		return &out
	}
	for _, tc := range []struct {
		name, a, b           string
		contains, intersects bool
	}{
		{"equal", `{"f:a":{},"f:b":{"f:c":{}}}`, `{"f:a":{},"f:b":{"f:c":{}}}`, true, true},
		{"subset", `{"f:a":{},"f:b":{"f:c":{},"f:d":{}}}`, `{"f:b":{"f:d":{}}}`, true, true},
		{"superset", `{"f:b":{"f:d":{}}}`, `{"f:a":{},"f:b":{"f:c":{},"f:d":{}}}`, false, true},
		{"disjoint", `{"f:a":{}}`, `{"f:b":{}}`, false, false},
		{"parent only", `{"f:b":{"f:c":{}}}`, `{"f:b":{".":{}}}`, false, false},
		{"parent and child", `{"f:b":{".":{},"f:c":{}}}`, `{"f:b":{".":{}}}`, true, true},
		{"siblings under one parent", `{"f:b":{"f:c":{}}}`, `{"f:b":{"f:d":{}}}`, false, false},
		{"list keys", `{"f:l":{"k:{\"n\":\"x\"}":{"f:v":{}}}}`, `{"f:l":{"k:{\"n\":\"x\"}":{"f:v":{}}}}`, true, true},
		{"empty b", `{"f:a":{}}`, `{}`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := set(tc.a), set(tc.b)
			if got, want := contains(a, b), b.Difference(a).Empty(); got != tc.contains || got != want {
				t.Errorf("contains = %v, want %v (algebra says %v)", got, tc.contains, want)
			}
			if got, want := intersects(a, b), !a.Intersection(b).Empty(); got != tc.intersects || got != want {
				t.Errorf("intersects = %v, want %v (algebra says %v)", got, tc.intersects, want)
			}
		})
	}
}
