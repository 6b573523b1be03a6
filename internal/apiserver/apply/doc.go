// Package apply tracks field ownership (metadata.managedFields) and performs
// server-side apply (PATCH with Content-Type application/apply-patch+yaml)
// with the semantics of the upstream kube-apiserver.
//
// The merge, ownership and conflict logic is the upstream field manager
// exported by k8s.io/apimachinery/pkg/util/managedfields, driven by
// structured-merge-diff schemas. The schemas are upstream's own, as shipped
// by client-go's apply configurations, so list merging follows the API's
// list types exactly (containers by name, container ports by containerPort
// and protocol, service ports by port and protocol, ...). Parsing them costs
// about 0.3 s of CPU once per process, in New.
//
// One Manager serves every tracked kind; each kind has a field manager for
// the main resource and, when it has them, the status and scale subresources:
//
//	PATCH apply-patch ──▶ Apply(cur or nil, patch) ──▶ merged object + managedFields
//	                           │ conflict without force         │
//	                           ▼                                 ▼
//	               409 Conflict, one cause            defaulting, admission,
//	               per field and manager              validation, storage
//
//	POST / PUT / other PATCH ──▶ defaulting ──▶ Update(cur or nil, next)
//	                                              ──▶ next + managedFields ──▶ admission ...
//
// What a write may own depends on where it goes (upstream's reset fields):
// a main-resource write never owns status, a status write owns neither spec
// nor metadata, a scale write owns only spec.replicas. Entries of subresource
// writes carry their subresource ("status", "scale").
//
// Ordinary writes are the API server's hot path, so Update takes two
// shortcuts around the general field manager that give byte-identical
// managedFields (tests hold each to the general path): a create without
// managedFields owns what it sets (create.go), compared field by field
// with a recent object of the same controller where there is one and only
// the differing fields typed (templates.go, equal.go); an update of a stored
// object types and compares only the fields that differ, reuses decoded
// entries from a small cache, and keeps the bytes of entries it does not
// change (update.go, diff.go, sets.go). Cases they do not reproduce
// exactly go the general way.
//
// Vocabulary: a manager is the fieldManager query parameter, or the
// User-Agent up to its first "/" (ManagerName); an entry's operation is
// Apply for apply patches and Update for every other write; an apply that
// stops sending a field it alone owned removes the field.
package apply
