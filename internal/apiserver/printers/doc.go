// Package printers turns API objects into meta.k8s.io/v1 Tables, the form
// the API server answers with when a client sends
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (as `kubectl get` does).
//
// Each kind has a Printer: its column definitions and a function that renders
// one object as one row of cells. The columns, their types, formats and
// priorities, and the cell values follow upstream kube-apiserver, so that
// `kubectl get` prints the same text against klite as against Kubernetes:
//
//	kubectl get pods
//	  → GET /api/v1/namespaces/default/pods (Accept: ...;as=Table...)
//	  → ToTable(GroupKind{Kind: "Pod"}, pods, now, "Metadata", false)
//	  → NAME    READY   STATUS    RESTARTS   AGE
//
// As upstream does, the server always renders every column, including the
// priority-1 ones that kubectl shows only with `-o wide`; the client drops them.
// Kinds without a printer of their own get the default table: Name and Created At.
//
// Printers never read the clock: ages are computed against the `now` they are given.
package printers
