package apiserver

import (
	"net/http"

	"github.com/klite/klite/internal/apiserver/apply"
)

// newFieldManager tracks managedFields for every served kind.
func newFieldManager(resources []*resource) (*apply.Manager, error) {
	var kinds []apply.Kind
	for _, res := range resources {
		kinds = append(kinds, apply.Kind{GVK: res.gvk, Status: res.status, Scale: res.scale})
	}
	return apply.New(apply.Config{Kinds: kinds})
}

// managerOf is the field manager a write is recorded under.
func managerOf(r *http.Request) string {
	return apply.ManagerName(r.URL.Query().Get("fieldManager"), r.UserAgent())
}

func forceOf(r *http.Request) *bool {
	v, ok := r.URL.Query()["force"]
	if !ok {
		return nil
	}
	b := len(v) > 0 && v[0] == "true"
	return &b
}
