package openapi

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// refKind says what a typeRef points at.
type refKind int

const (
	kindPrimitive refKind = iota // typ/format
	kindRef                      // a named definition
	kindArray                    // elem
	kindMap                      // string keys, elem values
	kindAny                      // arbitrary JSON object
)

// typeRef is the version-neutral shape of one value: a field, an array
// item or a map value.
type typeRef struct {
	kind   refKind
	typ    string // primitive type: string, integer, number, boolean
	format string // primitive format, e.g. int32, byte
	ref    string // definition name for kindRef
	elem   *typeRef
	// byValue is set for a struct held by value (not through a pointer);
	// upstream gives such fields an empty-object default in v3.
	byValue bool
}

// field is one JSON property of a struct definition.
type field struct {
	name        string
	description string
	required    bool
	ref         *typeRef
	extensions  map[string]any
}

// special describes a type that serialises as a scalar (or free-form
// object) rather than as its Go struct, e.g. resource.Quantity.
type special struct {
	typ      string   // v2 type
	format   string   // format in both versions
	v3OneOf  []string // v3 alternatives instead of typ, when set
	isObject bool     // free-form object (RawExtension, FieldsV1, Patch)
}

// definition is one named schema, e.g. io.k8s.api.core.v1.Pod.
type definition struct {
	name        string
	description string
	special     *special
	fields      []field
	gvks        []schema.GroupVersionKind
	deps        []string // names of directly referenced definitions
}

// openAPITyper is implemented by apimachinery types with a custom wire form.
type openAPITyper interface {
	OpenAPISchemaType() []string
	OpenAPISchemaFormat() string
}

// openAPIV3OneOfTyper is implemented by types that are one of several types in v3.
type openAPIV3OneOfTyper interface {
	OpenAPIV3OneOfTypes() []string
}

type swaggerDocer interface {
	SwaggerDoc() map[string]string
}

// objectTypes serialise as arbitrary JSON objects.
var objectTypes = map[reflect.Type]string{
	reflect.TypeFor[runtime.RawExtension](): "RawExtension holds an arbitrary embedded object, serialized as JSON.",
	reflect.TypeFor[v1.FieldsV1]():          "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.",
	reflect.TypeFor[v1.Patch]():             "Patch is the body of a PATCH request; its format depends on the request's content type.",
}

// specialDescriptions documents scalar types that have no SwaggerDoc.
var specialDescriptions = map[string]string{
	"io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity is a fixed-point representation of a number, serialized as a string such as " +
		"\"100m\", \"1.5Gi\" or \"2\" (<decimal><suffix> with binary suffixes Ki, Mi, Gi, Ti, Pi, Ei, decimal suffixes m, k, M, G, T, P, E, or an exponent).",
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString is a value that can hold either an int32 or a string; " +
		"in JSON it is written as the bare integer or the string.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time":      "Time is a timestamp serialized in RFC 3339 form, e.g. 2006-01-02T15:04:05Z.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime is a timestamp with microsecond precision, serialized in RFC 3339 form.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Duration":  "Duration is a time span serialized as a Go duration string, e.g. \"1h30m\".",
}

// model is the version-neutral description of every definition reached from
// the served types.
type model struct {
	defs map[string]*definition
}

func newModel() *model {
	return &model{defs: map[string]*definition{}}
}

// definitionName is the upstream name of a named Go type:
// k8s.io/api/core/v1.Pod becomes io.k8s.api.core.v1.Pod.
func definitionName(t reflect.Type) string {
	pkg := t.PkgPath()
	host, rest, _ := strings.Cut(pkg, "/")
	parts := strings.Split(host, ".")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

// addKind registers the Go type of obj as a top-level kind with gvk.
func (m *model) addKind(obj any, gvk schema.GroupVersionKind) (string, error) {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return "", fmt.Errorf("kind %s: %s is not a named struct", gvk, t)
	}
	ref := m.refFor(t)
	d := m.defs[ref.ref]
	for _, have := range d.gvks {
		if have == gvk {
			return ref.ref, nil
		}
	}
	d.gvks = append(d.gvks, gvk)
	return ref.ref, nil
}

// refFor returns the shape of Go type t, registering named structs and
// special types as definitions.
func (m *model) refFor(t reflect.Type) *typeRef {
	byValue := true
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		byValue = false
	}
	if r := m.namedRef(t); r != nil {
		r.byValue = byValue && m.defs[r.ref].special == nil
		return r
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &typeRef{kind: kindPrimitive, typ: "string", format: "byte"}
		}
		return &typeRef{kind: kindArray, elem: m.refFor(t.Elem())}
	case reflect.Map:
		return &typeRef{kind: kindMap, elem: m.refFor(t.Elem())}
	case reflect.Interface, reflect.Struct:
		return &typeRef{kind: kindAny}
	}
	return primitiveRef(t.Kind())
}

func primitiveRef(k reflect.Kind) *typeRef {
	switch k {
	case reflect.Bool:
		return &typeRef{kind: kindPrimitive, typ: "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Int:
		return &typeRef{kind: kindPrimitive, typ: "integer", format: "int32"}
	case reflect.Int64, reflect.Uint32, reflect.Uint64, reflect.Uint:
		return &typeRef{kind: kindPrimitive, typ: "integer", format: "int64"}
	case reflect.Float32:
		return &typeRef{kind: kindPrimitive, typ: "number", format: "float"}
	case reflect.Float64:
		return &typeRef{kind: kindPrimitive, typ: "number", format: "double"}
	}
	return &typeRef{kind: kindPrimitive, typ: "string"}
}

// namedRef registers t as a definition when it is a named struct or a
// special type, and returns a reference to it; nil otherwise.
func (m *model) namedRef(t reflect.Type) *typeRef {
	if t.Name() == "" || t.PkgPath() == "" {
		return nil
	}
	sp := specialFor(t)
	if sp == nil && t.Kind() != reflect.Struct {
		return nil
	}
	name := definitionName(t)
	if _, ok := m.defs[name]; ok {
		return &typeRef{kind: kindRef, ref: name}
	}
	d := &definition{name: name, special: sp}
	m.defs[name] = d // registered before walking so recursive types terminate
	d.description = typeDescription(t, name)
	if sp == nil {
		d.fields = m.structFields(t)
		d.deps = fieldDeps(d.fields)
	}
	return &typeRef{kind: kindRef, ref: name}
}

func typeDescription(t reflect.Type, name string) string {
	if desc, ok := objectTypes[t]; ok {
		return desc
	}
	if desc, ok := specialDescriptions[name]; ok {
		return desc
	}
	return swaggerDoc(t)[""]
}

// specialFor reports how t serialises when it is not a plain struct.
func specialFor(t reflect.Type) *special {
	if _, ok := objectTypes[t]; ok {
		return &special{isObject: true}
	}
	v := reflect.Zero(t).Interface()
	typer, ok := v.(openAPITyper)
	if !ok {
		return nil
	}
	types := typer.OpenAPISchemaType()
	sp := &special{format: typer.OpenAPISchemaFormat()}
	if len(types) > 0 {
		sp.typ = types[0]
	}
	if oneOf, ok := v.(openAPIV3OneOfTyper); ok {
		sp.v3OneOf = oneOf.OpenAPIV3OneOfTypes()
	}
	return sp
}

func swaggerDoc(t reflect.Type) map[string]string {
	if d, ok := reflect.Zero(t).Interface().(swaggerDocer); ok {
		return d.SwaggerDoc()
	}
	return nil
}

// structFields lists the JSON properties of struct t, flattening inlined
// embedded structs (TypeMeta, ListMeta ...).
func (m *model) structFields(t reflect.Type) []field {
	docs := swaggerDoc(t)
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" || strings.Contains(","+opts+",", ",inline,") {
			out = append(out, m.inlineFields(sf.Type)...)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, field{
			name:        name,
			description: docs[name],
			required:    isRequired(sf.Type, opts),
			ref:         m.refFor(sf.Type),
			extensions:  fieldExtensions(t, sf, name),
		})
	}
	return out
}

func (m *model) inlineFields(t reflect.Type) []field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return m.structFields(t)
}

// isRequired reports whether a field must be set: upstream marks optional
// fields with omitempty (or omitzero), and pointers are optional by nature.
func isRequired(t reflect.Type, opts string) bool {
	return t.Kind() != reflect.Pointer && !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero")
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// fieldDeps lists the definitions the fields refer to, in field order.
func fieldDeps(fields []field) []string {
	var deps []string
	for _, f := range fields {
		for r := f.ref; r != nil; r = r.elem {
			if r.kind == kindRef {
				deps = append(deps, r.ref)
			}
		}
	}
	return deps
}

// closure returns the names of roots and every definition they reach.
func (m *model) closure(roots []string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] || m.defs[n] == nil {
			continue
		}
		seen[n] = true
		stack = append(stack, m.defs[n].deps...)
	}
	return seen
}
