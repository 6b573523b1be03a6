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
