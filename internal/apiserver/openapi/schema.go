package openapi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// obj is a JSON object under construction; encoding/json sorts its keys,
// which keeps every rendered document byte-for-byte deterministic.
type obj = map[string]any

// dialect is how schemas are written for one OpenAPI version.
type dialect struct {
	refPrefix string // #/definitions/ (v2) or #/components/schemas/ (v3)
	v3        bool
}

var (
	dialectV2 = dialect{refPrefix: "#/definitions/"}
	dialectV3 = dialect{refPrefix: "#/components/schemas/", v3: true}
)

func (d dialect) ref(name string) obj {
	return obj{"$ref": d.refPrefix + name}
}

// typeSchema renders the shape of a value.
func (d dialect) typeSchema(r *typeRef) obj {
	switch r.kind {
	case kindRef:
		return d.ref(r.ref)
	case kindArray:
		return obj{"type": "array", "items": d.typeSchema(r.elem)}
	case kindMap:
		return obj{"type": "object", "additionalProperties": d.typeSchema(r.elem)}
	case kindAny:
		return obj{"type": "object"}
	}
	s := obj{"type": r.typ}
	if r.format != "" {
		s["format"] = r.format
	}
	return s
}

// fieldSchema renders one property. A reference with siblings is wrapped
// in allOf in v3 (v3.0 ignores siblings of $ref), as upstream does.
func (d dialect) fieldSchema(f field) obj {
	s := d.typeSchema(f.ref)
	if f.ref.kind == kindRef && d.v3 && (f.description != "" || f.ref.byValue) {
		s = obj{"allOf": []any{s}}
		if f.ref.byValue {
			s["default"] = obj{}
		}
	}
	if f.description != "" {
		s["description"] = f.description
	}
	for k, v := range f.extensions {
		s[k] = v
	}
	return s
}

// definitionSchema renders one named definition.
func (d dialect) definitionSchema(def *definition) obj {
	s := obj{}
	if def.description != "" {
		s["description"] = def.description
	}
	if def.special != nil {
		d.specialSchema(def.special, s)
		return s
	}
	s["type"] = "object"
	if len(def.fields) > 0 {
		props := obj{}
		var required []any
		for _, f := range def.fields {
			props[f.name] = d.fieldSchema(f)
			if f.required {
				required = append(required, f.name)
			}
		}
		s["properties"] = props
		if len(required) > 0 {
			s["required"] = required
		}
	}
	if len(def.gvks) > 0 {
		list := make([]any, len(def.gvks))
		for i, gvk := range def.gvks {
			list[i] = gvkObject(gvk)
		}
		s["x-kubernetes-group-version-kind"] = list
	}
	return s
}

func (d dialect) specialSchema(sp *special, s obj) {
	if sp.isObject {
		s["type"] = "object"
		return
	}
	if sp.format != "" {
		s["format"] = sp.format
	}
	if d.v3 && len(sp.v3OneOf) > 0 {
		alts := make([]any, len(sp.v3OneOf))
		for i, t := range sp.v3OneOf {
			alts[i] = obj{"type": t}
		}
		s["oneOf"] = alts
		return
	}
	s["type"] = sp.typ
}

// definitions renders the named definitions (all of them when names is nil).
func (d dialect) definitions(m *model, names map[string]bool) obj {
	out := obj{}
	for name, def := range m.defs {
		if names == nil || names[name] {
			out[name] = d.definitionSchema(def)
		}
	}
	return out
}

func gvkObject(gvk schema.GroupVersionKind) obj {
	return obj{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}
