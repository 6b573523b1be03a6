package apiserver

import (
	"fmt"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	schema2 "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/klite/klite/internal/apiserver/apply"
)

func (s *Server) patchObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo, sub string) {
	out, err := negotiate(r)
	if err == nil {
		err = s.checkDryRun(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		writeError(w, err)
		return
	}
	pt := types.PatchType(mediaType(r.Header.Get("Content-Type")))
	if err := apply.ValidatePatchOptions(pt == types.ApplyPatchType, r.URL.Query().Get("fieldManager"), forceOf(r)); err != nil {
		writeError(w, err)
		return
	}
	ri.manager = managerOf(r)
	if pt == types.ApplyPatchType {
		s.applyObject(w, r, st, ri, sub, body, out)
		return
	}
	var warnings []string
	updated, err := s.update(r.Context(), st, ri, sub, isDryRun(r), func(cur runtime.Object) (runtime.Object, error) {
		patched, err := s.applyPatch(st, pt, cur, body)
		if err != nil {
			return nil, err
		}
		obj, warns, err := s.codec.decodeBody(patched, "application/json", st.res.gvk, fieldValidation(r))
		warnings = warns
		return obj, err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeWarnings(w, warnings)
	s.respondObject(w, st, http.StatusOK, updated, out)
}

// applyObject serves a server-side apply: it merges the patch into the stored object, or
// creates the object from it when there is none.
func (s *Server) applyObject(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo, sub string, body []byte, out output) {
	force := forceOf(r)
	ri.applied = true
	updated, err := s.update(r.Context(), st, ri, sub, isDryRun(r), func(cur runtime.Object) (runtime.Object, error) {
		return s.fields.ApplySubresource(cur, body, st.res.gvk, sub, ri.manager, force != nil && *force)
	})
	if apierrors.IsNotFound(err) && sub == "" {
		s.applyCreate(w, r, st, ri, body, out, force != nil && *force)
		return
	}
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondObject(w, st, http.StatusOK, updated, out)
}

func (s *Server) applyCreate(w http.ResponseWriter, r *http.Request, st *store, ri requestInfo, body []byte, out output, force bool) {
	obj, err := s.fields.Apply(nil, body, st.res.gvk, ri.manager, force)
	if err == nil {
		err = checkUpdateMeta(st.res, obj, s.codec.new(st.res.gvk), ri.namespace, ri.name)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	created, err := s.create(r.Context(), st, ri.namespace, obj, isDryRun(r), "")
	if err != nil {
		writeError(w, err)
		return
	}
	s.respondObject(w, st, http.StatusCreated, created, out)
}

// applyPatch applies a patch document of type pt to cur's JSON.
func (s *Server) applyPatch(st *store, pt types.PatchType, cur runtime.Object, patch []byte) ([]byte, error) {
	cur.GetObjectKind().SetGroupVersionKind(st.res.gvk)
	curJSON, err := encode(cur)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	out, err := s.applyPatchJSON(pt, curJSON, patch, s.codec.new(st.res.gvk))
	if err != nil {
		if status, ok := err.(apierrors.APIStatus); ok && status.Status().Code == http.StatusUnprocessableEntity {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", st.res.gr(), nameOf(cur), status.Status().Message, 0, false)
		}
		return nil, err
	}
	return out, nil
}

// applyPatchJSON applies a patch to a JSON document; schema is the Go type for strategic merge.
func (s *Server) applyPatchJSON(pt types.PatchType, curJSON, patch []byte, schema runtime.Object) ([]byte, error) {
	var out []byte
	switch pt {
	case types.JSONPatchType:
		p, err := jsonpatch.DecodePatch(patch)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
		out, err = p.Apply(curJSON)
		if err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", schema2.GroupResource{}, "", err.Error(), 0, false)
		}
	case types.MergePatchType:
		js, err := patchJSON(patch)
		if err != nil {
			return nil, err
		}
		if out, err = jsonpatch.MergePatch(curJSON, js); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	case types.StrategicMergePatchType:
		js, err := patchJSON(patch)
		if err != nil {
			return nil, err
		}
		if out, err = strategicpatch.StrategicMergePatch(curJSON, js, schema); err != nil {
			return nil, apierrors.NewBadRequest(err.Error())
		}
	default:
		return nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", schema2.GroupResource{}, "",
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s", types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType), 0, false)
	}
	return out, nil
}

// patchJSON accepts a merge patch as JSON or YAML.
func patchJSON(patch []byte) ([]byte, error) {
	js, err := yaml.YAMLToJSON(patch)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("decode patch: %v", err))
	}
	return js, nil
}

func nameOf(obj runtime.Object) string {
	if m, ok := obj.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return ""
}
