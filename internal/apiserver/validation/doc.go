// Package validation checks built-in Kubernetes objects the way upstream
// kube-apiserver does before it stores them.
//
// The API server decodes a request into the typed k8s.io/api object, applies
// defaults (package defaults), and then calls ValidateCreate, ValidateUpdate or
// ValidateStatusUpdate. Each returns a field.ErrorList whose paths, error types
// and messages follow upstream's pkg/apis/*/validation, so the 422 Invalid
// Status the caller builds from it reads the same in kubectl as on a real
// cluster. The functions are pure: they never mutate their arguments.
//
// Every kind is described by a rules value (rules.go): how its name is
// checked, whether it is namespaced, the checks on its content, the extra
// checks an update must pass (immutable fields) and the checks for a write to
// its status subresource. Unknown kinds get metadata checks only.
//
// Adding a kind: write a xxxRules() function returning its rules (content
// checks in validate, immutable fields in update, status checks in status),
// add a case to dispatch in validation.go, and add a table test with a valid
// fixture plus one case per rule.
//
// The caller owns what needs server state: name generation, metadata.uid,
// creationTimestamp and resourceVersion handling. A Service update is judged
// as defaults.ApplyUpdate leaves it (allocated values kept, fields of the old
// type dropped), so the caller should store that result.
package validation
