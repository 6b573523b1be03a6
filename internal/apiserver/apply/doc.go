// Package apply tracks field ownership (metadata.managedFields) and performs
// server-side apply (PATCH with Content-Type application/apply-patch+yaml)
// with the semantics of the upstream kube-apiserver.
//
// The merge, ownership and conflict logic is the upstream field manager
// exported by k8s.io/apimachinery/pkg/util/managedfields, driven by
// structured-merge-diff schemas. The schemas are upstream's own, as shipped
// by client-go's apply configurations, so list merging follows the API's
// list types exactly (containers by name, container ports by containerPort
// and protocol, service ports by port and protocol, ...).
//
// One Manager serves every tracked kind; each kind has a field manager for
// the main resource and, when it has one, the status subresource:
//
//	PATCH apply-patch ──▶ Manager.Apply(live, patch) ──▶ merged object + managedFields
//	                           │ conflict without force
//	                           ▼
//	                      409 Conflict, one cause per field and manager
//
//	POST / PUT / other PATCH ──▶ (defaulted object) ──▶ Manager.Update(live, new)
//	                                                      ──▶ new + managedFields
//
// A main-resource write never owns status and a status write never owns
// spec or metadata, as upstream's reset fields say for the common kinds.
package apply
